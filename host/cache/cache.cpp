#include "cache/cache.hpp"

#include "core/log.hpp"

#include <algorithm>

namespace aicache::cache {

const char *to_string(InsertOutcome outcome) noexcept {
    switch (outcome) {
    case InsertOutcome::stored: return "stored";
    case InsertOutcome::refused_by_policy: return "refused by policy";
    case InsertOutcome::too_large: return "too large";
    case InsertOutcome::policy_error: return "policy error";
    }
    return "unknown";
}

Cache::Cache(const CacheConfig &config) : config_(config) {}
Cache::~Cache() { release_all(); }

std::string policy_config_json(uint64_t capacity_bytes, std::string_view parameters) {
    std::string json = "{\"capacity_bytes\":" + std::to_string(capacity_bytes);
    // The object's members go beside the capacity: the text between its outer braces.
    const size_t open = parameters.find('{'), close = parameters.rfind('}');
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
        std::string_view members = parameters.substr(open + 1, close - open - 1);
        if (members.find_first_not_of(" \t\r\n") != std::string_view::npos) json += "," + std::string(members);
    }
    return json + "}";
}

Expected<std::unique_ptr<Cache>> Cache::create(const CacheConfig &config, std::shared_ptr<const loader::PluginLibrary> policy) {
    if (config.shards == 0 || config.shards > 4096)
        return Status(Errc::invalid_argument, "cache shards must be 1..4096, got " + std::to_string(config.shards));
    if (config.capacity_bytes < config.shards)
        return Status(Errc::invalid_argument, "cache capacity " + std::to_string(config.capacity_bytes) +
                                                  " bytes is smaller than one byte per shard");
    std::unique_ptr<Cache> cache(new Cache(config));
    for (uint32_t i = 0; i < config.shards; ++i) {
        auto shard = std::make_unique<Shard>();
        // Spread the remainder so the shards add up to exactly the configured capacity.
        shard->capacity_bytes = config.capacity_bytes / config.shards + (i < config.capacity_bytes % config.shards ? 1 : 0);
        shard->parameters = config.policy_parameters;
        auto instance = loader::PolicyInstance::create(policy, policy_config_json(shard->capacity_bytes, config.policy_parameters));
        if (!instance) return instance.error();
        shard->policy = std::move(instance.value());
        cache->shards_.push_back(std::move(shard));
    }
    return cache;
}

void Cache::remove_locked(Shard &shard, Record *record) noexcept {
    shard.bytes_used -= record->meta.size_bytes;
    shard.index.erase(record->meta.key);
    record->release();
}

void Cache::release_all() noexcept {
    for (auto &shard : shards_) {
        std::lock_guard lock(shard->mutex);
        shard->index.for_each([](uint64_t, Record *record) { record->release(); });
        shard->index.clear();
        shard->bytes_used = 0;
    }
}

LookupResult Cache::lookup(KeyView key, uint64_t now_us) noexcept {
    Shard &shard = shard_for(key.hash);
    std::lock_guard lock(shard.mutex);
    ++shard.counters.lookups;
    Record *record = shard.index.find(key.hash);
    if (record == nullptr || record->key() != key.full) return {};
    if (record->expires_at_us != 0 && now_us >= record->expires_at_us) {
        if (shard.policy.remove(key.hash) != AICACHE_OK) ++shard.counters.policy_errors;
        remove_locked(shard, record);
        ++shard.counters.expirations;
        return {};
    }
    record->meta.last_access_us = now_us;
    ++record->meta.hit_count;
    if (shard.policy.hit(record->meta) != AICACHE_OK) ++shard.counters.policy_errors;
    ++shard.counters.hits;
    shard.counters.bytes_hit += record->meta.size_bytes;
    shard.counters.cost_hit += record->meta.cost;
    record->acquire();
    return LookupResult{true, RecordRef(record), record->meta.size_bytes, record->meta.cost};
}

LookupResult Cache::peek(KeyView key, uint64_t now_us) noexcept {
    Shard &shard = shard_for(key.hash);
    std::lock_guard lock(shard.mutex);
    Record *record = shard.index.find(key.hash);
    if (record == nullptr || record->key() != key.full) return {};
    if (record->expires_at_us != 0 && now_us >= record->expires_at_us) return {};
    record->acquire();
    return LookupResult{true, RecordRef(record), record->meta.size_bytes, record->meta.cost};
}

InsertOutcome Cache::insert(const InsertRequest &request, uint64_t now_us, std::vector<uint64_t> *evicted) noexcept {
    Shard &shard = shard_for(request.key.hash);
    std::lock_guard lock(shard.mutex);
    uint64_t size = request.size_bytes != 0 ? request.size_bytes : request.key.full.size() + request.value.size();
    size = std::max<uint64_t>(size, 1);
    shard.counters.bytes_inserted += size;
    shard.counters.cost_offered += request.cost;

    // A new answer for a resident key (or a 64-bit hash collision) replaces the old entry.
    if (Record *old = shard.index.find(request.key.hash); old != nullptr) {
        if (shard.policy.remove(request.key.hash) != AICACHE_OK) ++shard.counters.policy_errors;
        remove_locked(shard, old);
    }
    if (size > shard.capacity_bytes) {
        ++shard.counters.refused;
        return InsertOutcome::too_large;
    }

    aicache_entry_meta meta{sizeof(aicache_entry_meta), request.tenant, request.key.hash, size, request.cost, now_us, now_us, 0};
    bool admitted = true;
    if (shard.policy.admit(meta, admitted) != AICACHE_OK) {
        ++shard.counters.policy_errors;
        return InsertOutcome::policy_error;
    }
    if (!admitted) {
        ++shard.counters.refused;
        return InsertOutcome::refused_by_policy;
    }

    while (shard.bytes_used + size > shard.capacity_bytes) {
        uint64_t victim = 0;
        aicache_status status = shard.policy.victim(victim);
        Record *gone = status == AICACHE_OK ? shard.index.find(victim) : nullptr;
        if (gone == nullptr) {
            // The policy lost track of what is resident: refuse the insert rather than evict blindly.
            ++shard.counters.policy_errors;
            spdlog::warn("policy {} gave no resident victim ({}) with {} entries resident; insert refused",
                         shard.policy.library().facts().name, loader::status_name(status), shard.index.size());
            loader::take_plugin_error();
            return InsertOutcome::policy_error;
        }
        remove_locked(shard, gone);
        ++shard.counters.evictions;
        if (evicted != nullptr) {
            try {
                evicted->push_back(victim);
            } catch (...) {
                // Out of memory for the list: the durable tier keeps a row the memory tier lost;
                // the next start drops it against the capacity again.
            }
        }
    }

    uint64_t ttl = request.ttl_seconds;
    if (ttl == 0 && shard.policy.ttl(meta, ttl) != AICACHE_OK) {
        ++shard.counters.policy_errors;
        ttl = 0;
    }
    Record *record = Record::create(request.key.full, request.value);
    if (record == nullptr) return InsertOutcome::policy_error; // out of memory: the entry is simply not cached
    record->meta = meta;
    record->expires_at_us = ttl ? now_us + ttl * 1'000'000 : 0;
    try {
        shard.index.set(meta.key, record);
    } catch (...) {
        record->release();
        return InsertOutcome::policy_error;
    }
    shard.bytes_used += size;
    ++shard.counters.inserts;
    if (shard.policy.insert(meta) != AICACHE_OK) ++shard.counters.policy_errors;
    return InsertOutcome::stored;
}

bool Cache::erase(KeyView key) noexcept {
    Shard &shard = shard_for(key.hash);
    std::lock_guard lock(shard.mutex);
    Record *record = shard.index.find(key.hash);
    if (record == nullptr || record->key() != key.full) return false;
    if (shard.policy.remove(key.hash) != AICACHE_OK) ++shard.counters.policy_errors;
    remove_locked(shard, record);
    return true;
}

Status Cache::migrate_locked(Shard &shard, loader::PolicyInstance &next) {
    const auto &from = shard.policy.library().facts();
    const auto &to = next.library().facts();
    bool formats_agree = !from.state_format.empty() && from.state_format == to.state_format &&
                         (from.capabilities & AICACHE_CAP_STATE_MIGRATION) && (to.capabilities & AICACHE_CAP_STATE_MIGRATION);
    if (formats_agree) {
        auto state = shard.policy.save_state();
        if (state) {
            Status loaded = next.load_state(*state);
            if (loaded) {
                ++shard.counters.warm_swaps;
                return Status::ok();
            }
            spdlog::warn("policy swap {} -> {}: warm state refused ({}); starting cold", from.name, to.name, loaded.message());
        } else {
            spdlog::warn("policy swap {} -> {}: saving state failed ({}); starting cold", from.name, to.name, state.error().message());
        }
    }
    // Cold start: tell the new policy about every resident entry, least recently used first, so
    // recency-based policies start from the order the cache has actually seen.
    std::vector<const aicache_entry_meta *> resident;
    resident.reserve(shard.index.size());
    shard.index.for_each([&](uint64_t, Record *record) { resident.push_back(&record->meta); });
    std::sort(resident.begin(), resident.end(),
              [](const aicache_entry_meta *a, const aicache_entry_meta *b) { return a->last_access_us < b->last_access_us; });
    for (const aicache_entry_meta *meta : resident) {
        aicache_status status = next.insert(*meta);
        if (status != AICACHE_OK) return loader::plugin_failure(to.name + ": on_insert during cold start", status);
    }
    ++shard.counters.cold_swaps;
    return Status::ok();
}

Status Cache::swap_policy(std::shared_ptr<const loader::PluginLibrary> policy) {
    std::vector<uint32_t> all(shards_.size());
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
    return swap_policy_on(all, std::move(policy));
}

std::string Cache::shard_parameters(uint32_t i) const {
    if (i >= shards_.size()) return {};
    std::lock_guard lock(shards_[i]->mutex);
    return shards_[i]->parameters;
}

Status Cache::swap_policy_on(const std::vector<uint32_t> &indices, std::shared_ptr<const loader::PluginLibrary> policy,
                             const std::optional<std::string> &parameters) {
    for (uint32_t i : indices)
        if (i >= shards_.size()) return Status(Errc::invalid_argument, "no shard " + std::to_string(i));
    // Instances are created before any shard changes, so a policy that fails to create leaves the
    // cache exactly as it was.
    std::vector<loader::PolicyInstance> next;
    std::vector<std::string> next_parameters;
    next.reserve(indices.size());
    for (uint32_t i : indices) {
        next_parameters.push_back(parameters ? *parameters : shard_parameters(i));
        auto instance = loader::PolicyInstance::create(policy, policy_config_json(shards_[i]->capacity_bytes, next_parameters.back()));
        if (!instance) return instance.error().with_context("swapping to policy " + policy->facts().name);
        next.push_back(std::move(instance.value()));
    }
    for (size_t n = 0; n < indices.size(); ++n) {
        const uint32_t i = indices[n];
        Shard &shard = *shards_[i];
        std::lock_guard lock(shard.mutex);
        if (Status migrated = migrate_locked(shard, next[n]); !migrated) {
            // Half-taught instance: rebuild it from scratch once more; if that fails keep the old one.
            auto fresh = loader::PolicyInstance::create(policy, policy_config_json(shard.capacity_bytes, next_parameters[n]));
            spdlog::error("policy swap on shard {}: {}", i, migrated.message());
            if (!fresh) return migrated;
            next[n] = std::move(fresh.value());
            if (Status retry = migrate_locked(shard, next[n]); !retry) return retry.with_context("shard " + std::to_string(i));
        }
        shard.policy.swap(next[n]); // the old instance is destroyed below, outside no lock it needs
        shard.parameters = next_parameters[n];
    }
    next.clear(); // destroys the old instances; their library is released when nothing else holds it
    return Status::ok();
}

void Cache::add_counters(CacheStats &total, const Shard &shard) {
    const CacheStats &c = shard.counters;
    total.lookups += c.lookups;
    total.hits += c.hits;
    total.inserts += c.inserts;
    total.evictions += c.evictions;
    total.expirations += c.expirations;
    total.refused += c.refused;
    total.policy_errors += c.policy_errors;
    total.bytes_hit += c.bytes_hit;
    total.bytes_inserted += c.bytes_inserted;
    total.cost_hit += c.cost_hit;
    total.cost_offered += c.cost_offered;
    total.warm_swaps += c.warm_swaps;
    total.cold_swaps += c.cold_swaps;
    total.entries += shard.index.size();
    total.bytes_used += shard.bytes_used;
    total.capacity_bytes += shard.capacity_bytes;
}

CacheStats Cache::stats() const {
    CacheStats total;
    for (const auto &shard : shards_) {
        std::lock_guard lock(shard->mutex);
        add_counters(total, *shard);
    }
    return total;
}

CacheStats Cache::shard_stats(uint32_t shard) const {
    CacheStats total;
    if (shard >= shards_.size()) return total;
    std::lock_guard lock(shards_[shard]->mutex);
    add_counters(total, *shards_[shard]);
    return total;
}

std::shared_ptr<const loader::PluginLibrary> Cache::shard_policy(uint32_t shard) const {
    const Shard &s = *shards_.at(shard);
    std::lock_guard lock(s.mutex);
    return s.policy.library_ptr();
}

std::shared_ptr<const loader::PluginLibrary> Cache::policy() const {
    std::lock_guard lock(shards_.front()->mutex);
    return shards_.front()->policy.library_ptr();
}

} // namespace aicache::cache
