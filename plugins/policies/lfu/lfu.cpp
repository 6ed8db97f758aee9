// LFU: evict the entry read the fewest times since it was inserted; among equals, the one
// touched longest ago. Entries sit in one recency list per frequency, in a map ordered by
// frequency: O(log F) per call, F the number of distinct frequencies (small in practice).
#include <aicache/sdk/policy.hpp>
#include <aicache_plugins/keyed_list.hpp>

#include <map>
#include <optional>

namespace {

class Lfu {
public:
    static constexpr const char *state_format = "lfu/1";

    explicit Lfu(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        if (frequency_.find(meta.key) != aicache::sdk::KeyIndex::npos) return;
        add(meta.key, 1);
    }
    void on_hit(const aicache_entry_meta &meta) {
        uint32_t f = frequency_.find(meta.key);
        if (f == aicache::sdk::KeyIndex::npos) return;
        drop(meta.key, f);
        add(meta.key, f + 1);
    }
    void on_remove(uint64_t key) {
        uint32_t f = frequency_.find(key);
        if (f != aicache::sdk::KeyIndex::npos) drop(key, f);
    }
    std::optional<uint64_t> victim() {
        if (buckets_.empty()) return std::nullopt;
        auto &[f, list] = *buckets_.begin();
        uint64_t key = list.node(list.back()).key;
        drop(key, f);
        return key;
    }

    // Lowest frequency first, each bucket oldest first.
    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(frequency_.size());
        for (const auto &[f, list] : buckets_)
            for (auto i = list.back(); i != List::npos; i = list.newer(i)) {
                out.u64(list.node(i).key);
                out.u32(f);
            }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(12); n > 0; --n) {
            uint64_t key = in.u64();
            uint32_t f = in.u32();
            if (f == 0 || frequency_.find(key) != aicache::sdk::KeyIndex::npos)
                throw aicache::sdk::state_format_error("lfu state: zero frequency or duplicate key");
            add(key, f);
        }
    }
    void clear() {
        buckets_.clear();
        frequency_.clear();
    }
    void stats(std::string &json) const {
        json = "{\"entries\":" + std::to_string(frequency_.size()) + ",\"frequencies\":" + std::to_string(buckets_.size()) + "}";
    }

private:
    struct Empty {};
    using List = aicache_plugins::KeyedList<Empty>;

    void add(uint64_t key, uint32_t f) {
        buckets_[f].push_front(key, {});
        frequency_.set(key, f);
    }
    void drop(uint64_t key, uint32_t f) {
        auto bucket = buckets_.find(f);
        bucket->second.erase(bucket->second.find(key));
        if (bucket->second.empty()) buckets_.erase(bucket);
        frequency_.erase(key);
    }

    std::map<uint32_t, List> buckets_; // frequency -> entries, newest at the front
    aicache::sdk::KeyIndex frequency_; // key -> its frequency
};

} // namespace

AICACHE_POLICY_PLUGIN(Lfu, "lfu", "1.0.0")
