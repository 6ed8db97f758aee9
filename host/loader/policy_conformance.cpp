#include "loader/policy_conformance.hpp"

#include "loader/policy_instance.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <unordered_set>

namespace aicache::loader {
namespace {

constexpr const char *kConfig = "{\"capacity_bytes\":1000000}";

aicache_entry_meta meta_for(uint64_t key, uint64_t now) {
    return aicache_entry_meta{sizeof(aicache_entry_meta), 0, key, 100 + key % 900, key % 50, now, now, 0};
}

Status fail(const std::string &check, const std::string &why) { return Status(Errc::plugin, check + ": " + why); }

Status call(const std::string &check, const std::string &what, aicache_status status) {
    if (status == AICACHE_OK) return Status::ok();
    return plugin_failure(what, status).with_context(check);
}

// Evicts everything and returns the order; fails if a victim is not resident or repeats.
Expected<std::vector<uint64_t>> drain(const std::string &check, PolicyInstance &policy, std::set<uint64_t> resident) {
    std::vector<uint64_t> order;
    while (!resident.empty()) {
        uint64_t key = 0;
        aicache_status status = policy.victim(key);
        if (status != AICACHE_OK)
            return call(check, "on_victim with " + std::to_string(resident.size()) + " entries resident", status);
        if (resident.erase(key) == 0) return fail(check, "on_victim returned key " + std::to_string(key) + ", which is not resident");
        order.push_back(key);
    }
    uint64_t key = 0;
    aicache_status status = policy.victim(key);
    take_plugin_error();
    if (status != AICACHE_ERR_NOT_FOUND)
        return fail(check, std::string("on_victim on an empty policy must return not found, returned ") + status_name(status));
    return order;
}

Status fills_and_drains(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "evicts every inserted key exactly once";
    auto policy = PolicyInstance::create(lib, kConfig);
    if (!policy) return policy.error().with_context(check);
    std::set<uint64_t> resident;
    for (uint64_t k = 1; k <= 500; ++k) {
        if (Status s = call(check, "on_insert", policy->insert(meta_for(k * 7919, k))); !s) return s;
        resident.insert(k * 7919);
    }
    for (uint64_t k = 1; k <= 500; k += 3) {
        auto m = meta_for(k * 7919, 1000 + k);
        m.hit_count = 1;
        if (Status s = call(check, "on_hit", policy->hit(m)); !s) return s;
    }
    auto order = drain(check, *policy, resident);
    return order ? Status::ok() : order.error();
}

Status forgets_removed_keys(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "never evicts a removed key";
    auto policy = PolicyInstance::create(lib, kConfig);
    if (!policy) return policy.error().with_context(check);
    std::set<uint64_t> resident;
    for (uint64_t k = 1; k <= 300; ++k) {
        if (Status s = call(check, "on_insert", policy->insert(meta_for(k, k))); !s) return s;
        resident.insert(k);
    }
    for (uint64_t k = 2; k <= 300; k += 2) {
        if (Status s = call(check, "on_remove", policy->remove(k)); !s) return s;
        resident.erase(k);
    }
    auto order = drain(check, *policy, resident);
    return order ? Status::ok() : order.error();
}

// A seeded random mix of every call against a model of what is resident.
Status random_operations(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "keeps track of residents under a random mix of calls";
    auto policy = PolicyInstance::create(lib, kConfig);
    if (!policy) return policy.error().with_context(check);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> resident;
    std::unordered_set<uint64_t> resident_set;
    for (uint64_t step = 1; step <= 20000; ++step) {
        unsigned op = rng() % 10;
        if (op < 4 || resident.empty()) {
            uint64_t key = rng() % 5000 + 1;
            if (resident_set.count(key)) continue;
            auto m = meta_for(key, step);
            bool admitted = true;
            uint64_t ttl = 0;
            if (Status s = call(check, "on_admit", policy->admit(m, admitted)); !s) return s;
            if (Status s = call(check, "on_ttl", policy->ttl(m, ttl)); !s) return s;
            if (!admitted) continue;
            if (Status s = call(check, "on_insert", policy->insert(m)); !s) return s;
            resident.push_back(key);
            resident_set.insert(key);
        } else if (op < 7) {
            auto m = meta_for(resident[rng() % resident.size()], step);
            m.hit_count = 1;
            if (Status s = call(check, "on_hit", policy->hit(m)); !s) return s;
        } else if (op < 8) {
            size_t i = rng() % resident.size();
            if (Status s = call(check, "on_remove", policy->remove(resident[i])); !s) return s;
            resident_set.erase(resident[i]);
            resident[i] = resident.back();
            resident.pop_back();
        } else {
            uint64_t key = 0;
            if (Status s = call(check, "on_victim", policy->victim(key)); !s) return s;
            auto it = std::find(resident.begin(), resident.end(), key);
            if (it == resident.end())
                return fail(check, "step " + std::to_string(step) + ": on_victim returned non-resident key " + std::to_string(key));
            *it = resident.back();
            resident.pop_back();
            resident_set.erase(key);
        }
    }
    auto order = drain(check, *policy, std::set<uint64_t>(resident.begin(), resident.end()));
    return order ? Status::ok() : order.error();
}

Status state_round_trips(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "saved state restores the same eviction order";
    if (!(lib->facts().capabilities & AICACHE_CAP_STATE_MIGRATION)) return Status::ok();
    if (lib->facts().state_format.empty()) return fail(check, "advertises state migration but has an empty state_format");
    auto original = PolicyInstance::create(lib, kConfig);
    auto copy = PolicyInstance::create(lib, kConfig);
    if (!original) return original.error().with_context(check);
    if (!copy) return copy.error().with_context(check);
    std::set<uint64_t> resident;
    for (uint64_t k = 1; k <= 400; ++k) {
        if (Status s = call(check, "on_insert", original->insert(meta_for(k, k))); !s) return s;
        resident.insert(k);
        if (k % 5 == 0) {
            auto m = meta_for(k / 2, 1000 + k);
            m.hit_count = 1;
            if (Status s = call(check, "on_hit", original->hit(m)); !s) return s;
        }
    }
    // Evict a few first so internal cursors (SIEVE's hand, S3-FIFO's queues) are mid-flight.
    for (int i = 0; i < 20; ++i) {
        uint64_t key = 0;
        if (Status s = call(check, "on_victim", original->victim(key)); !s) return s;
        resident.erase(key);
    }
    auto state = original->save_state();
    if (!state) return state.error().with_context(check);
    if (Status loaded = copy->load_state(*state); !loaded) return loaded.with_context(check);
    auto a = drain(check, *original, resident);
    auto b = drain(check, *copy, resident);
    if (!a) return a.error();
    if (!b) return b.error();
    if (*a != *b) return fail(check, "the restored instance evicts in a different order");
    return Status::ok();
}

Status refuses_garbage_state(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "refuses corrupt state and stays usable";
    if (!(lib->facts().capabilities & AICACHE_CAP_STATE_MIGRATION)) return Status::ok();
    auto policy = PolicyInstance::create(lib, kConfig);
    if (!policy) return policy.error().with_context(check);
    std::string garbage(64, '\xff');
    if (policy->load_state(garbage)) return fail(check, "on_load_state accepted 64 bytes of 0xff");
    if (policy->load_state(std::string_view("\x05\x00", 2))) return fail(check, "on_load_state accepted a truncated state");
    take_plugin_error();
    if (Status s = call(check, "on_insert after a refused state", policy->insert(meta_for(9, 1))); !s) return s;
    auto order = drain(check, *policy, {9});
    return order ? Status::ok() : order.error();
}

Status reports_stats(const std::shared_ptr<const PluginLibrary> &lib) {
    const std::string check = "reports stats as a JSON object";
    auto policy = PolicyInstance::create(lib, kConfig);
    if (!policy) return policy.error().with_context(check);
    auto stats = policy->stats();
    if (!stats) return stats.error().with_context(check);
    if (stats->empty() || stats->front() != '{' || stats->back() != '}')
        return fail(check, "on_stats wrote \"" + stats->substr(0, 80) + "\", not a JSON object");
    return Status::ok();
}

} // namespace

ConformanceReport run_policy_conformance(const std::shared_ptr<const PluginLibrary> &library) {
    static const NamedCheck checks[] = {
        {"fills_and_drains", &fills_and_drains},         {"forgets_removed_keys", &forgets_removed_keys},
        {"random_operations", &random_operations},       {"state_round_trips", &state_round_trips},
        {"refuses_garbage_state", &refuses_garbage_state}, {"reports_stats", &reports_stats},
    };
    return run_checks(library, library->policy() != nullptr, "a policy", checks);
}

} // namespace aicache::loader
