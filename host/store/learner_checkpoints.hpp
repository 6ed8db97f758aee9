// The knowledge repository's history of trained learner models. A checkpoint's bytes (a learner's
// saved state, tens of MB for the encoder) live content-addressed in <data>/checkpoints/<sha256>.ckpt
// and are hash-checked whenever they are read back; the table records where each came from (the
// plugin build, the checkpoint it continued, the data it trained on) and what it measured. One
// checkpoint per learner is active: serve and exec load it; rollback activates an older one.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::store {

struct CheckpointRecord {
    int64_t id = 0;
    std::string learner;                 // the plugin's name
    std::string plugin_version, plugin_sha256, state_format;
    std::string sha256;                  // of the bytes
    int64_t size_bytes = 0;
    std::optional<int64_t> parent_id;    // the checkpoint this one continued from (none: from scratch)
    std::string trained_on = "{}";       // JSON: the data and budget
    std::string metrics = "{}";          // JSON: held-out measurements before and after
    std::string created_at, created_by;
    std::string pruned_at;               // when `learner gc` deleted its bytes; empty: kept
    bool active = false;                 // filled by list()/find()
};

struct Pruned {
    std::vector<int64_t> ids;
    uint64_t bytes_freed = 0;
};

class LearnerCheckpoints {
public:
    LearnerCheckpoints(Database &db, std::filesystem::path directory) : db_(db), directory_(std::move(directory)) {}

    // Writes the bytes (atomically, once per content) and then the record; returns it with its id.
    Expected<CheckpointRecord> add(CheckpointRecord record, std::string_view bytes);
    // Newest first; every learner's when `learner` is empty.
    Expected<std::vector<CheckpointRecord>> list(const std::string &learner = {});
    Expected<std::optional<CheckpointRecord>> find(int64_t id);
    Expected<std::optional<CheckpointRecord>> active(const std::string &learner);
    Status activate(const std::string &learner, int64_t id);
    // The bytes, refused if the file is missing or no longer hashes to the record's sha256.
    Expected<std::string> read(const CheckpointRecord &record) const;
    // Deletes the bytes of every checkpoint of `learner` (every learner's when empty) but the active
    // one and the `keep` newest; their records stay, marked pruned. A file another kept checkpoint
    // shares (the same content) stays too.
    Expected<Pruned> prune(const std::string &learner, size_t keep);
    [[nodiscard]] std::filesystem::path file_of(const std::string &sha256) const { return directory_ / (sha256 + ".ckpt"); }

private:
    Expected<std::vector<CheckpointRecord>> select(const std::string &where, const std::vector<SqlValue> &params);
    Database &db_;
    std::filesystem::path directory_;
};

} // namespace aicache::store
