// The append-only audit log of everything done to patches and plugin versions: who, what, when,
// the content hashes involved, and for an operator's acts the operator's signature. Each row's
// hash covers its fields and the previous row's hash, so altering, inserting or deleting any row
// breaks the chain at that row, which `verify` reports.
#pragma once

#include "core/status.hpp"
#include "patches/signing.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace aicache::patches {

struct AuditEntry {
    int64_t seq = 0;
    std::string at, actor, action, subject, details, prev_hash, hash, public_key, signature;
};

struct AuditVerification {
    bool ok = true;
    int64_t rows = 0, signed_rows = 0;
    int64_t first_broken = 0; // seq of the first row that does not check out
    std::string reason;
};

class AuditLog {
public:
    explicit AuditLog(store::Database &db) : db_(db) {}

    // `signer`: the operator whose act this is; the row's hash is signed with their key.
    Expected<AuditEntry> append(const std::string &actor, const std::string &action, const std::string &subject,
                                const nlohmann::json &details, const OperatorKey *signer = nullptr);
    Expected<std::vector<AuditEntry>> entries();
    Expected<AuditVerification> verify();

private:
    store::Database &db_;
};

// The hash a row must carry: SHA-256 over its fields and the previous row's hash.
std::string audit_row_hash(const AuditEntry &entry);

} // namespace aicache::patches
