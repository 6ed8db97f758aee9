// A copy-me starter: FIFO eviction (the oldest insertion leaves first).
// Rename the class, the file and the plugin name, then change the four on_* methods and victim().
#include <aicache/sdk/policy.hpp>

#include <deque>
#include <optional>
#include <unordered_set>
#include <vector>

namespace {

class MyPolicy {
public:
    // Bump the tag whenever save_state's layout changes; equal tags let hot swaps keep warm state.
    static constexpr const char *state_format = "my_policy/1";

    explicit MyPolicy(const aicache::sdk::Config &) {}

    void on_insert(const aicache_entry_meta &meta) {
        if (resident_.insert(meta.key).second) order_.push_back(meta.key);
    }
    void on_hit(const aicache_entry_meta &) {}
    void on_remove(uint64_t key) { resident_.erase(key); } // its queue slot is skipped later
    std::optional<uint64_t> victim() {
        while (!order_.empty()) {
            uint64_t key = order_.front();
            order_.pop_front();
            if (resident_.erase(key) != 0) return key;
        }
        return std::nullopt;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        std::vector<uint64_t> live;
        for (uint64_t key : order_)
            if (resident_.count(key)) live.push_back(key);
        out.u64(live.size());
        for (uint64_t key : live) out.u64(key);
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        for (uint64_t n = in.count(8); n > 0; --n) on_insert(aicache_entry_meta{sizeof(aicache_entry_meta), 0, in.u64(), 0, 0, 0, 0, 0});
    }
    void clear() {
        order_.clear();
        resident_.clear();
    }

private:
    std::deque<uint64_t> order_;
    std::unordered_set<uint64_t> resident_;
};

} // namespace

AICACHE_POLICY_PLUGIN(MyPolicy, "my_policy", "0.1.0")
