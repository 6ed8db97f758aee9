#include "store/policy_parameters.hpp"

#include "store/plugin_versions.hpp" // utc_now_iso8601

namespace aicache::store {
namespace {

// The first column of the newest row, if any.
Expected<std::optional<std::string>> newest(const Expected<std::vector<SqlRow>> &rows) {
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<std::string>{};
    return std::optional<std::string>(as_text(rows->front()[0]));
}

} // namespace

Status PolicyParameters::promote(const std::string &policy, const std::string &parameters, const std::string &by, const std::string &why) {
    auto kept = db_.query("INSERT INTO policy_parameters(policy, parameters, promoted_at, promoted_by, why) VALUES (?, ?, ?, ?, ?)",
                          {policy, parameters, utc_now_iso8601(), by, why});
    return kept ? Status::ok() : kept.error().with_context("promoted parameters");
}

Expected<std::optional<std::string>> PolicyParameters::latest(const std::string &policy) {
    return newest(db_.query("SELECT parameters FROM policy_parameters WHERE policy = ? ORDER BY id DESC LIMIT 1", {policy}));
}

Status PolicyParameters::promote_choice(const std::string &slot, const std::string &policy, const std::string &by, const std::string &why) {
    auto kept = db_.query("INSERT INTO policy_choices(slot, policy, promoted_at, promoted_by, why) VALUES (?, ?, ?, ?, ?)",
                          {slot, policy, utc_now_iso8601(), by, why});
    return kept ? Status::ok() : kept.error().with_context("promoted policy");
}

Expected<std::optional<std::string>> PolicyParameters::latest_choice(const std::string &slot) {
    return newest(db_.query("SELECT policy FROM policy_choices WHERE slot = ? ORDER BY id DESC LIMIT 1", {slot}));
}

} // namespace aicache::store
