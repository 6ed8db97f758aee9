#include "store/patch_records.hpp"

namespace aicache::store {

const char *to_string(PatchState state) noexcept {
    switch (state) {
    case PatchState::staged: return "staged";
    case PatchState::validated: return "validated";
    case PatchState::evaluated: return "evaluated";
    case PatchState::approved: return "approved";
    case PatchState::canary: return "canary";
    case PatchState::active: return "active";
    case PatchState::retired: return "retired";
    case PatchState::rejected: return "rejected";
    }
    return "unknown";
}

std::optional<PatchState> patch_state_named(const std::string &name) {
    for (PatchState s : {PatchState::staged, PatchState::validated, PatchState::evaluated, PatchState::approved, PatchState::canary,
                         PatchState::active, PatchState::retired, PatchState::rejected})
        if (name == to_string(s)) return s;
    return std::nullopt;
}

namespace {

constexpr const char *kColumns = "id, target, file_name, note, source, source_sha256, object_sha256, state, report, submitted_by, submitted_at";

Expected<PatchRecord> from_row(const SqlRow &r) {
    PatchRecord p;
    p.id = as_int(r[0]);
    p.target = as_text(r[1]);
    p.file_name = as_text(r[2]);
    p.note = as_text(r[3]);
    p.source = as_text(r[4]);
    p.source_sha256 = as_text(r[5]);
    p.object_sha256 = as_text(r[6]);
    auto state = patch_state_named(as_text(r[7]));
    if (!state) return Status(Errc::corrupt, "patch " + std::to_string(p.id) + ": unknown state " + as_text(r[7]));
    p.state = *state;
    p.report = as_text(r[8]);
    p.submitted_by = as_text(r[9]);
    p.submitted_at = as_text(r[10]);
    return p;
}

Expected<std::vector<PatchRecord>> records(Database &db, const std::string &where, const std::vector<SqlValue> &params) {
    auto rows = db.query(std::string("SELECT ") + kColumns + " FROM patches " + where, params);
    if (!rows) return rows.error();
    std::vector<PatchRecord> out;
    for (const auto &r : *rows) {
        auto p = from_row(r);
        if (!p) return p.error();
        out.push_back(std::move(*p));
    }
    return out;
}

} // namespace

Expected<PatchRecord> PatchRecords::insert(PatchRecord p) {
    auto inserted = db_.query("INSERT INTO patches(target, file_name, note, source, source_sha256, object_sha256, state, report, submitted_by, "
                              "submitted_at) VALUES(?,?,?,?,?,?,?,?,?,?) RETURNING id",
                              {p.target, p.file_name, p.note, p.source, p.source_sha256, p.object_sha256, std::string(to_string(p.state)),
                               p.report, p.submitted_by, p.submitted_at});
    if (!inserted) return inserted.error().with_context("recording a patch");
    if (inserted->empty()) return Status(Errc::internal, "recording a patch: no id returned");
    p.id = as_int(inserted->front()[0]);
    return p;
}

Status PatchRecords::update(const PatchRecord &p) {
    auto updated = db_.query("UPDATE patches SET state = ?, object_sha256 = ?, report = ? WHERE id = ?",
                             {std::string(to_string(p.state)), p.object_sha256, p.report, p.id});
    return updated ? Status::ok() : updated.error().with_context("updating patch " + std::to_string(p.id));
}

Expected<PatchRecord> PatchRecords::get(int64_t id) {
    auto found = records(db_, "WHERE id = ?", {id});
    if (!found) return found.error();
    if (found->empty()) return Status(Errc::not_found, "no patch #" + std::to_string(id) + " (see `aicache patch list`)");
    return found->front();
}

Expected<std::vector<PatchRecord>> PatchRecords::list() { return records(db_, "ORDER BY id DESC", {}); }

Expected<std::optional<PatchRecord>> PatchRecords::previous_for_target(const PatchRecord &record) {
    auto found = records(db_, "WHERE target = ? AND id < ? ORDER BY id DESC LIMIT 1", {record.target, record.id});
    if (!found) return found.error();
    if (found->empty()) return std::optional<PatchRecord>();
    return std::optional<PatchRecord>(found->front());
}

Status PatchRecords::add_decision(const PatchDecision &d) {
    auto inserted = db_.query("INSERT INTO patch_decisions(patch_id, operator, public_key, decision, why, signature, at) VALUES(?,?,?,?,?,?,?)",
                              {d.patch_id, d.operator_name, d.public_key, d.decision, d.why, d.signature, d.at});
    return inserted ? Status::ok() : inserted.error().with_context("recording a decision on patch " + std::to_string(d.patch_id));
}

Expected<std::vector<PatchDecision>> PatchRecords::decisions(int64_t patch_id) {
    auto rows = db_.query("SELECT id, patch_id, operator, public_key, decision, why, signature, at FROM patch_decisions WHERE patch_id = ? ORDER BY id",
                          {patch_id});
    if (!rows) return rows.error();
    std::vector<PatchDecision> out;
    for (const auto &r : *rows)
        out.push_back({as_int(r[0]), as_int(r[1]), as_text(r[2]), as_text(r[3]), as_text(r[4]), as_text(r[5]), as_text(r[6]), as_text(r[7])});
    return out;
}

} // namespace aicache::store
