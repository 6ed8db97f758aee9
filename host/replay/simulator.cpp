#include "replay/simulator.hpp"

#include "cache/cache.hpp"
#include "core/log.hpp"

namespace aicache::replay {

Expected<Simulator> Simulator::create(std::shared_ptr<const loader::PluginLibrary> policy, uint64_t capacity,
                                      const std::string &parameters) {
    if (capacity == 0) return Status(Errc::invalid_argument, "a replay needs a capacity of at least 1");
    auto instance = loader::PolicyInstance::create(std::move(policy), cache::policy_config_json(capacity, parameters));
    if (!instance) return instance.error();
    Simulator simulator;
    simulator.policy_ = std::move(instance.value());
    simulator.capacity_ = capacity;
    return simulator;
}

void Simulator::remove(uint32_t slot) noexcept {
    Entry &gone = entries_[slot];
    used_ -= gone.meta.size_bytes;
    index_.erase(gone.meta.key);
    if (slot + 1 != entries_.size()) {
        gone = entries_.back();
        index_.assign(gone.meta.key, slot);
    }
    entries_.pop_back();
}

bool Simulator::lookup(uint64_t key, uint64_t now_us) noexcept {
    uint32_t slot = index_.find(key);
    if (slot == sdk::KeyIndex::npos) return false;
    Entry &entry = entries_[slot];
    if (entry.expires_at_us != 0 && now_us >= entry.expires_at_us) {
        if (policy_.remove(key) != AICACHE_OK) ++counters_.policy_errors;
        remove(slot);
        ++counters_.expirations;
        return false;
    }
    entry.meta.last_access_us = now_us;
    ++entry.meta.hit_count;
    if (policy_.hit(entry.meta) != AICACHE_OK) ++counters_.policy_errors;
    return true;
}

void Simulator::insert(uint64_t key, uint64_t size, uint64_t cost, uint64_t now_us) noexcept {
    size = std::max<uint64_t>(size, 1);
    if (uint32_t old = index_.find(key); old != sdk::KeyIndex::npos) {
        if (policy_.remove(key) != AICACHE_OK) ++counters_.policy_errors;
        remove(old);
    }
    if (size > capacity_) {
        ++counters_.refused;
        return;
    }
    aicache_entry_meta meta{sizeof(aicache_entry_meta), 0, key, size, cost, now_us, now_us, 0};
    bool admitted = true;
    if (policy_.admit(meta, admitted) != AICACHE_OK) {
        ++counters_.policy_errors;
        return;
    }
    if (!admitted) {
        ++counters_.refused;
        return;
    }
    while (used_ + size > capacity_) {
        uint64_t victim = 0;
        uint32_t slot = policy_.victim(victim) == AICACHE_OK ? index_.find(victim) : sdk::KeyIndex::npos;
        if (slot == sdk::KeyIndex::npos) {
            // As in the cache: a policy that lost track of what is resident gets no blind eviction.
            ++counters_.policy_errors;
            loader::take_plugin_error();
            return;
        }
        remove(slot);
        ++counters_.evictions;
    }
    uint64_t ttl = 0;
    if (policy_.ttl(meta, ttl) != AICACHE_OK) {
        ++counters_.policy_errors;
        ttl = 0;
    }
    try {
        index_.set(key, static_cast<uint32_t>(entries_.size()));
        entries_.push_back(Entry{meta, ttl ? now_us + ttl * 1'000'000 : 0});
    } catch (...) {
        index_.erase(key);
        ++counters_.policy_errors; // out of memory: the object is simply not cached, as in the cache
        return;
    }
    used_ += size;
    if (policy_.insert(meta) != AICACHE_OK) ++counters_.policy_errors;
}

} // namespace aicache::replay
