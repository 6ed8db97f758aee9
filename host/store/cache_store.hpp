// The durable cache tier: every cached answer as a row in SQLite (WAL), written before the
// client is answered, so a crash loses no acknowledged entry. The in-memory cache is rebuilt
// from it at start.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace aicache::store {

struct StoredAnswer {
    uint64_t key_hash = 0;
    std::string key;   // canonical key bytes
    std::string tenant;
    std::string kind;  // "chat/completions", "completions", "exec"
    std::string value; // the answer bytes as they are sent
    uint64_t size_bytes = 0;
    uint64_t cost = 0; // tokens (or microseconds of upstream time) a hit saves
    uint64_t created_at_us = 0;
    uint64_t expires_at_us = 0; // 0: never
};

struct StoreFilter {
    std::string tenant;          // empty: all
    uint64_t older_than_us = 0;  // 0: any age; else created before this time
};

class CacheStore {
public:
    explicit CacheStore(Database &db) : db_(db) {}

    // Writes `answer` and deletes `evicted` in one transaction.
    Status put(const StoredAnswer &answer, const std::vector<uint64_t> &evicted);
    Status remove(const std::vector<uint64_t> &key_hashes);
    Expected<std::vector<StoredAnswer>> get(uint64_t key_hash);
    // Every unexpired answer, oldest first; expired rows are deleted on the way.
    Status load(uint64_t now_us, const std::function<void(StoredAnswer &&)> &each);
    // Rows without their value (for listings), newest first.
    Expected<std::vector<StoredAnswer>> list(const StoreFilter &filter, bool with_values);
    // Deletes what the filter selects; returns the deleted key hashes.
    Expected<std::vector<uint64_t>> clear(const StoreFilter &filter);
    // The id of a tenant name, created on first use.
    Expected<uint32_t> tenant_id(const std::string &name);

private:
    Expected<std::vector<StoredAnswer>> select(const std::string &where, const std::vector<SqlValue> &params, bool with_values,
                                               const std::string &order);
    Database &db_;
    std::mutex tenants_mutex_;
    std::unordered_map<std::string, uint32_t> tenants_;
};

} // namespace aicache::store
