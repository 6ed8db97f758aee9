#include "store/search_records.hpp"

#include "store/plugin_versions.hpp"

namespace aicache::store {
namespace {

constexpr const char *kSearchColumns =
    "id, name, optimizer, optimizer_version, optimizer_sha256, space, evaluation, state_format, state_hex, created_at, updated_at";
constexpr const char *kTrialColumns = "id, search_id, number, candidate, patch_id, outcome, score, split, detail, seconds, finished_at";

std::string to_hex(const std::string &bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

Expected<std::string> from_hex(const std::string &hex, const std::string &what) {
    auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    if (hex.size() % 2 != 0) return Status(Errc::corrupt, what + ": saved state is not hex");
    std::string out(hex.size() / 2, '\0');
    for (size_t i = 0; i < out.size(); ++i) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return Status(Errc::corrupt, what + ": saved state is not hex");
        out[i] = static_cast<char>(hi << 4 | lo);
    }
    return out;
}

Expected<SearchRecord> search_from_row(const SqlRow &r) {
    SearchRecord s;
    s.id = as_int(r[0]);
    s.name = as_text(r[1]);
    s.optimizer = as_text(r[2]);
    s.optimizer_version = as_text(r[3]);
    s.optimizer_sha256 = as_text(r[4]);
    s.space = as_text(r[5]);
    s.evaluation = as_text(r[6]);
    s.state_format = as_text(r[7]);
    auto state = from_hex(as_text(r[8]), "search " + s.name);
    if (!state) return state.error();
    s.state = std::move(*state);
    s.created_at = as_text(r[9]);
    s.updated_at = as_text(r[10]);
    return s;
}

TrialRecord trial_from_row(const SqlRow &r) {
    TrialRecord t;
    t.id = as_int(r[0]);
    t.search_id = as_int(r[1]);
    t.number = as_int(r[2]);
    t.candidate = as_text(r[3]);
    if (std::holds_alternative<int64_t>(r[4])) t.patch_id = as_int(r[4]);
    t.outcome = as_text(r[5]);
    t.score = as_double(r[6]);
    t.split = as_text(r[7]);
    t.detail = as_text(r[8]);
    t.seconds = as_double(r[9]);
    t.finished_at = as_text(r[10]);
    return t;
}

Expected<std::vector<SearchRecord>> searches(Database &db, const std::string &where, const std::vector<SqlValue> &params) {
    auto rows = db.query(std::string("SELECT ") + kSearchColumns + " FROM searches " + where, params);
    if (!rows) return rows.error();
    std::vector<SearchRecord> out;
    for (const auto &r : *rows) {
        auto s = search_from_row(r);
        if (!s) return s.error();
        out.push_back(std::move(*s));
    }
    return out;
}

} // namespace

Expected<std::optional<SearchRecord>> SearchRecords::find(const std::string &name) {
    auto found = searches(db_, "WHERE name = ?", {name});
    if (!found) return found.error();
    if (found->empty()) return std::optional<SearchRecord>{};
    return std::optional<SearchRecord>(std::move(found->front()));
}

Expected<SearchRecord> SearchRecords::create(SearchRecord record) {
    record.created_at = record.updated_at = utc_now_iso8601();
    auto rows = db_.query("INSERT INTO searches(name, optimizer, optimizer_version, optimizer_sha256, space, evaluation, state_format, "
                          "state_hex, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                          {record.name, record.optimizer, record.optimizer_version, record.optimizer_sha256, record.space, record.evaluation,
                           record.state_format, to_hex(record.state), record.created_at, record.updated_at});
    if (!rows) return rows.error().with_context("search " + record.name);
    record.id = as_int(rows->at(0).at(0));
    return record;
}

Expected<std::vector<SearchRecord>> SearchRecords::list() { return searches(db_, "ORDER BY id", {}); }

Expected<TrialRecord> SearchRecords::record_trial(TrialRecord trial, const std::string &state_after, const std::string &optimizer_version) {
    trial.finished_at = utc_now_iso8601();
    if (Status begun = db_.exec("BEGIN IMMEDIATE"); !begun) return begun;
    // Another run of the same search recorded this trial since this one asked for it (the
    // immediate transaction makes the check and the insert one step for every writer).
    auto taken = db_.query("SELECT 1 FROM search_trials WHERE search_id = ? AND number = ?", {trial.search_id, trial.number});
    if (!taken || !taken->empty()) {
        (void)db_.exec("ROLLBACK");
        if (!taken) return taken.error();
        return Status(Errc::busy, "trial " + std::to_string(trial.number) +
                                      " was recorded meanwhile by another run of the same search; run one at a time (this one stops, what both "
                                      "recorded is kept)");
    }
    SqlValue patch = trial.patch_id ? SqlValue(*trial.patch_id) : SqlValue(std::monostate{});
    auto inserted = db_.query("INSERT INTO search_trials(search_id, number, candidate, patch_id, outcome, score, split, detail, seconds, "
                              "finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                              {trial.search_id, trial.number, trial.candidate, patch, trial.outcome, trial.score, trial.split, trial.detail,
                               trial.seconds, trial.finished_at});
    auto updated = inserted ? db_.query("UPDATE searches SET state_hex = ?, optimizer_version = ?, updated_at = ? WHERE id = ?",
                                        {to_hex(state_after), optimizer_version, trial.finished_at, trial.search_id})
                            : Expected<std::vector<SqlRow>>(inserted.error());
    if (!inserted || !updated) {
        (void)db_.exec("ROLLBACK");
        return (!inserted ? inserted.error() : updated.error()).with_context("search trial " + std::to_string(trial.number));
    }
    if (Status committed = db_.exec("COMMIT"); !committed) {
        (void)db_.exec("ROLLBACK");
        return committed;
    }
    trial.id = as_int(inserted->at(0).at(0));
    return trial;
}

Expected<std::vector<TrialRecord>> SearchRecords::trials(int64_t search_id) {
    auto rows = db_.query(std::string("SELECT ") + kTrialColumns + " FROM search_trials WHERE search_id = ? ORDER BY number", {search_id});
    if (!rows) return rows.error();
    std::vector<TrialRecord> out;
    for (const auto &r : *rows) out.push_back(trial_from_row(r));
    return out;
}

} // namespace aicache::store
