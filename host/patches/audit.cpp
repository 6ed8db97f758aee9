#include "patches/audit.hpp"

#include "core/hash.hpp"
#include "store/plugin_versions.hpp"

namespace aicache::patches {
namespace {

const std::string kGenesis(64, '0');

AuditEntry from_row(const store::SqlRow &r) {
    AuditEntry e;
    e.seq = store::as_int(r[0]);
    e.at = store::as_text(r[1]);
    e.actor = store::as_text(r[2]);
    e.action = store::as_text(r[3]);
    e.subject = store::as_text(r[4]);
    e.details = store::as_text(r[5]);
    e.prev_hash = store::as_text(r[6]);
    e.hash = store::as_text(r[7]);
    e.public_key = store::as_text(r[8]);
    e.signature = store::as_text(r[9]);
    return e;
}

} // namespace

std::string audit_row_hash(const AuditEntry &e) {
    nlohmann::json fields = {e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash, e.public_key};
    return sha256_hex(fields.dump());
}

Expected<AuditEntry> AuditLog::append(const std::string &actor, const std::string &action, const std::string &subject,
                                      const nlohmann::json &details, const OperatorKey *signer) {
    // One writer at a time extends the chain: read the tip and append in one transaction.
    if (Status begun = db_.exec("BEGIN IMMEDIATE"); !begun) return begun;
    auto rollback = [&](Status why) {
        (void)db_.exec("ROLLBACK");
        return why;
    };
    auto tip = db_.query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!tip) return rollback(tip.error());
    AuditEntry e;
    e.seq = tip->empty() ? 1 : store::as_int((*tip)[0][0]) + 1;
    e.prev_hash = tip->empty() ? kGenesis : store::as_text((*tip)[0][1]);
    e.at = store::utc_now_iso8601();
    e.actor = actor;
    e.action = action;
    e.subject = subject;
    e.details = details.dump();
    if (signer != nullptr) e.public_key = signer->public_hex;
    e.hash = audit_row_hash(e);
    if (signer != nullptr) e.signature = signer->sign(e.hash);
    auto inserted = db_.query("INSERT INTO audit_log(seq, at, actor, action, subject, details, prev_hash, hash, public_key, signature) "
                              "VALUES(?,?,?,?,?,?,?,?,?,?)",
                              {e.seq, e.at, e.actor, e.action, e.subject, e.details, e.prev_hash, e.hash, e.public_key, e.signature});
    if (!inserted) return rollback(inserted.error().with_context("audit log"));
    if (Status committed = db_.exec("COMMIT"); !committed) return rollback(committed);
    return e;
}

Expected<std::vector<AuditEntry>> AuditLog::entries() {
    auto rows = db_.query("SELECT seq, at, actor, action, subject, details, prev_hash, hash, public_key, signature FROM audit_log ORDER BY seq");
    if (!rows) return rows.error();
    std::vector<AuditEntry> out;
    for (const auto &r : *rows) out.push_back(from_row(r));
    return out;
}

Expected<AuditVerification> AuditLog::verify() {
    auto all = entries();
    if (!all) return all.error();
    AuditVerification v;
    std::string previous = kGenesis;
    int64_t expected_seq = 1;
    for (const AuditEntry &e : *all) {
        auto broken = [&](std::string why) {
            v.ok = false;
            v.first_broken = e.seq;
            v.reason = "row " + std::to_string(e.seq) + " (" + e.action + " " + e.subject + "): " + std::move(why);
            return v;
        };
        if (e.seq != expected_seq) return broken("expected row " + std::to_string(expected_seq) + ": rows are missing");
        if (e.prev_hash != previous) return broken("does not follow the previous row's hash (a row before it was changed or removed)");
        if (audit_row_hash(e) != e.hash) return broken("its contents do not match its hash (it was altered)");
        if (!e.public_key.empty()) {
            if (!verify_signature(e.public_key, e.hash, e.signature)) return broken("the operator's signature does not verify");
            ++v.signed_rows;
        }
        previous = e.hash;
        ++expected_seq;
        ++v.rows;
    }
    return v;
}

} // namespace aicache::patches
