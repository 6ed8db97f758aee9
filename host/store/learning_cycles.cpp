#include "store/learning_cycles.hpp"

#include "store/plugin_versions.hpp" // utc_now_iso8601

namespace aicache::store {
namespace {

CycleRecord record_of(const SqlRow &r) {
    return {as_int(r[0]), as_text(r[1]), as_text(r[2]), as_text(r[3]), as_text(r[4]), as_text(r[5]), as_text(r[6]), as_text(r[7])};
}
constexpr const char *kColumns = "SELECT id, trigger, started_at, finished_at, opportunity, decision, why, detail FROM learning_cycles";

} // namespace

Expected<int64_t> LearningCycles::begin(const std::string &trigger, const std::string &opportunity) {
    auto added = db_.query("INSERT INTO learning_cycles(trigger, started_at, opportunity) VALUES (?, ?, ?)", {trigger, utc_now_iso8601(), opportunity});
    if (!added) return added.error().with_context("learning cycle");
    return db_.last_insert_id();
}

Status LearningCycles::finish(int64_t id, const std::string &decision, const std::string &why, const std::string &detail_json) {
    auto done = db_.query("UPDATE learning_cycles SET finished_at = ?, decision = ?, why = ?, detail = ? WHERE id = ?",
                          {utc_now_iso8601(), decision, why, detail_json, id});
    return done ? Status::ok() : done.error().with_context("learning cycle");
}

Expected<std::vector<CycleRecord>> LearningCycles::recent(size_t count) {
    auto rows = db_.query(std::string(kColumns) + " ORDER BY id DESC LIMIT ?", {static_cast<int64_t>(count)});
    if (!rows) return rows.error();
    std::vector<CycleRecord> out;
    for (const auto &r : *rows) out.push_back(record_of(r));
    return out;
}

Expected<std::optional<CycleRecord>> LearningCycles::find(int64_t id) {
    auto rows = db_.query(std::string(kColumns) + " WHERE id = ?", {id});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<CycleRecord>{};
    return std::optional<CycleRecord>(record_of(rows->front()));
}

} // namespace aicache::store
