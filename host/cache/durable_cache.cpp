#include "cache/durable_cache.hpp"

#include "core/log.hpp"

namespace aicache::cache {
namespace {

// The memory tier's view of an answer; the views stay valid while `key` and `value` live.
InsertRequest insert_request(uint64_t key_hash, std::string_view key, std::string_view value, uint64_t cost,
                             const Expected<uint32_t> &tenant, uint64_t ttl_seconds) {
    InsertRequest request;
    request.key = KeyView{key_hash, key};
    request.value = value;
    request.cost = cost;
    request.tenant = tenant ? *tenant : 0;
    request.ttl_seconds = ttl_seconds;
    return request;
}

} // namespace

Status DurableCache::warm_start(uint64_t now_us) {
    std::vector<uint64_t> evicted;
    uint64_t loaded = 0;
    Status status = store_.load(now_us, [&](store::StoredAnswer &&a) {
        uint64_t ttl = a.expires_at_us > now_us ? (a.expires_at_us - now_us + 999'999) / 1'000'000 : 0;
        InsertRequest request = insert_request(a.key_hash, a.key, a.value, a.cost, store_.tenant_id(a.tenant), ttl);
        evicted.reserve(evicted.size() + 64);
        if (memory_->insert(request, a.created_at_us, &evicted) == InsertOutcome::stored) ++loaded;
        else evicted.push_back(a.key_hash); // too large or refused now: it cannot be served, drop it
    });
    if (!status) return status.with_context("loading the durable cache");
    if (Status removed = store_.remove(evicted); !removed) return removed.with_context("persisting start-up evictions");
    spdlog::info("durable cache: {} answers loaded, {} dropped to fit the capacity", loaded, evicted.size());
    return Status::ok();
}

void DurableCache::refuse_writes(std::string reason) {
    std::lock_guard lock(degraded_mutex_);
    refuse_writes_ = true;
    degraded_ = std::move(reason);
}

StoreResult DurableCache::store(const Answer &answer, uint64_t now_us) {
    if (refuse_writes_) return StoreResult::not_durable;
    auto tenant = store_.tenant_id(answer.tenant);
    InsertRequest request = insert_request(answer.key_hash, answer.key, answer.value, answer.cost, tenant, answer.ttl_seconds);
    std::vector<uint64_t> evicted;
    evicted.reserve(64);
    InsertOutcome outcome = memory_->insert(request, now_us, &evicted);
    if (outcome != InsertOutcome::stored) {
        // Evictions may have happened before the policy refused: persist them anyway.
        if (!evicted.empty()) (void)store_.remove(evicted);
        return StoreResult::refused;
    }
    store::StoredAnswer row;
    row.key_hash = answer.key_hash;
    row.key = std::string(answer.key);
    row.tenant = answer.tenant;
    row.kind = answer.kind;
    row.value = std::string(answer.value);
    row.size_bytes = answer.key.size() + answer.value.size();
    row.cost = answer.cost;
    row.created_at_us = now_us;
    row.expires_at_us = answer.ttl_seconds ? now_us + answer.ttl_seconds * 1'000'000 : 0;
    Status persisted = tenant ? store_.put(row, evicted) : tenant.error();
    if (!persisted) {
        // Not durable, so not acknowledged: take it back out of memory too.
        memory_->erase(request.key);
        std::lock_guard lock(degraded_mutex_);
        if (degraded_ != persisted.message()) spdlog::error("durable cache: serving uncached: {}", persisted.message());
        degraded_ = persisted.message();
        return StoreResult::not_durable;
    }
    std::lock_guard lock(degraded_mutex_);
    if (!degraded_.empty()) {
        spdlog::warn("durable cache: writes succeed again");
        degraded_.clear();
    }
    return StoreResult::stored;
}

Status DurableCache::remove(const std::vector<uint64_t> &key_hashes, const std::vector<std::string> &keys) {
    for (size_t i = 0; i < key_hashes.size() && i < keys.size(); ++i) memory_->erase(KeyView{key_hashes[i], keys[i]});
    return store_.remove(key_hashes);
}

std::string DurableCache::degraded_reason() const {
    std::lock_guard lock(degraded_mutex_);
    return degraded_;
}

} // namespace aicache::cache
