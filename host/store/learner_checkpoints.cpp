#include "store/learner_checkpoints.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "store/plugin_versions.hpp"

#include <map>
#include <set>

namespace aicache::store {
namespace {

const char *kColumns = "c.id, c.learner, c.plugin_version, c.plugin_sha256, c.state_format, c.sha256, c.size_bytes, c.parent_id, "
                       "c.trained_on, c.metrics, c.created_at, c.created_by, a.checkpoint_id IS NOT NULL, c.pruned_at";

CheckpointRecord from_row(const SqlRow &row) {
    CheckpointRecord r;
    r.id = as_int(row[0]);
    r.learner = as_text(row[1]);
    r.plugin_version = as_text(row[2]);
    r.plugin_sha256 = as_text(row[3]);
    r.state_format = as_text(row[4]);
    r.sha256 = as_text(row[5]);
    r.size_bytes = as_int(row[6]);
    if (std::holds_alternative<int64_t>(row[7])) r.parent_id = as_int(row[7]);
    r.trained_on = as_text(row[8]);
    r.metrics = as_text(row[9]);
    r.created_at = as_text(row[10]);
    r.created_by = as_text(row[11]);
    r.active = as_int(row[12]) != 0;
    r.pruned_at = as_text(row[13]);
    return r;
}

} // namespace

Expected<std::vector<CheckpointRecord>> LearnerCheckpoints::select(const std::string &where, const std::vector<SqlValue> &params) {
    auto rows = db_.query(std::string("SELECT ") + kColumns +
                              " FROM learner_checkpoints c LEFT JOIN learner_active a ON a.learner = c.learner AND a.checkpoint_id = c.id " +
                              where,
                          params);
    if (!rows) return rows.error();
    std::vector<CheckpointRecord> out;
    for (const auto &row : *rows) out.push_back(from_row(row));
    return out;
}

Expected<CheckpointRecord> LearnerCheckpoints::add(CheckpointRecord record, std::string_view bytes) {
    record.sha256 = sha256_hex(bytes);
    record.size_bytes = static_cast<int64_t>(bytes.size());
    record.created_at = utc_now_iso8601();
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    if (ec) return Status(Errc::io, directory_.string() + ": cannot create the checkpoint directory: " + ec.message());
    // The bytes first: a record never names a file that is not there (a crash leaves at most an
    // unreferenced file, which the next identical checkpoint reuses).
    const auto file = file_of(record.sha256);
    if (!std::filesystem::exists(file))
        if (Status written = write_file_atomic(file, bytes); !written) return written.with_context("checkpoint");
    auto inserted = db_.query("INSERT INTO learner_checkpoints(learner, plugin_version, plugin_sha256, state_format, sha256, size_bytes, "
                              "parent_id, trained_on, metrics, created_at, created_by) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                              {record.learner, record.plugin_version, record.plugin_sha256, record.state_format, record.sha256,
                               record.size_bytes, record.parent_id ? SqlValue(*record.parent_id) : SqlValue(std::monostate{}),
                               record.trained_on, record.metrics, record.created_at, record.created_by});
    if (!inserted) return inserted.error();
    record.id = as_int(inserted->at(0).at(0));
    return record;
}

Expected<std::vector<CheckpointRecord>> LearnerCheckpoints::list(const std::string &learner) {
    if (learner.empty()) return select("ORDER BY c.id DESC", {});
    return select("WHERE c.learner = ? ORDER BY c.id DESC", {learner});
}

Expected<std::optional<CheckpointRecord>> LearnerCheckpoints::find(int64_t id) {
    auto found = select("WHERE c.id = ?", {id});
    if (!found) return found.error();
    if (found->empty()) return std::optional<CheckpointRecord>{};
    return std::optional<CheckpointRecord>(found->front());
}

Expected<std::optional<CheckpointRecord>> LearnerCheckpoints::active(const std::string &learner) {
    auto found = select("WHERE a.checkpoint_id IS NOT NULL AND c.learner = ?", {learner});
    if (!found) return found.error();
    if (found->empty()) return std::optional<CheckpointRecord>{};
    return std::optional<CheckpointRecord>(found->front());
}

Status LearnerCheckpoints::activate(const std::string &learner, int64_t id) {
    auto record = find(id);
    if (!record) return record.error();
    if (!*record) return Status(Errc::not_found, "no checkpoint #" + std::to_string(id) + " (aicache learner list shows them)");
    if ((*record)->learner != learner)
        return Status(Errc::invalid_argument, "checkpoint #" + std::to_string(id) + " is " + (*record)->learner + "'s, not " + learner + "'s");
    auto set = db_.query("INSERT INTO learner_active(learner, checkpoint_id) VALUES (?, ?) "
                         "ON CONFLICT(learner) DO UPDATE SET checkpoint_id = excluded.checkpoint_id",
                         {learner, id});
    return set ? Status::ok() : set.error();
}

Expected<std::string> LearnerCheckpoints::read(const CheckpointRecord &record) const {
    if (!record.pruned_at.empty())
        return Status(Errc::not_found, "checkpoint #" + std::to_string(record.id) + ": its bytes were deleted by aicache learner gc at " + record.pruned_at);
    auto bytes = read_file(file_of(record.sha256));
    if (!bytes) return bytes.error().with_context("checkpoint #" + std::to_string(record.id));
    if (sha256_hex(*bytes) != record.sha256)
        return Status(Errc::corrupt, file_of(record.sha256).string() + ": checkpoint #" + std::to_string(record.id) +
                                         " no longer matches its recorded sha256 (damaged on disk): activate another with aicache learner rollback");
    return bytes;
}

Expected<Pruned> LearnerCheckpoints::prune(const std::string &learner, size_t keep) {
    auto all = list(); // newest first, every learner's: a file may be shared across learners
    if (!all) return all.error();
    std::map<std::string, size_t> kept_per_learner;
    std::set<std::string> kept_files;
    std::vector<const CheckpointRecord *> doomed;
    for (const auto &r : *all) {
        if (!r.pruned_at.empty()) continue;
        const bool in_scope = learner.empty() || r.learner == learner;
        if (!in_scope || r.active || kept_per_learner[r.learner]++ < keep) kept_files.insert(r.sha256);
        else doomed.push_back(&r);
    }
    Pruned pruned;
    const std::string now = utc_now_iso8601();
    for (const CheckpointRecord *r : doomed) {
        auto marked = db_.query("UPDATE learner_checkpoints SET pruned_at = ? WHERE id = ?", {now, r->id});
        if (!marked) return marked.error();
        pruned.ids.push_back(r->id);
        std::error_code ec;
        const auto file = file_of(r->sha256);
        if (kept_files.count(r->sha256) || !std::filesystem::exists(file, ec)) continue;
        const uint64_t size = std::filesystem::file_size(file, ec);
        if (std::filesystem::remove(file, ec)) pruned.bytes_freed += size;
    }
    return pruned;
}

} // namespace aicache::store
