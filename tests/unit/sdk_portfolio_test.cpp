// The SDK's portfolio of experts, driven the way the host drives a policy: a hit, or admit, then
// victims until the newcomer fits, then insert.
#include <aicache/sdk/portfolio.hpp>
#include <aicache/sdk/reference/lirs.hpp>
#include <aicache/sdk/reference/lru.hpp>

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace {

using aicache::sdk::Config;
using aicache::sdk::reference::Lirs;
using aicache::sdk::reference::Lru;

// One expert type over two reference policies (a patch may not use virtual calls, nor need a plugin).
class LruOrLirs {
public:
    LruOrLirs(bool lirs, const Config &config) {
        if (lirs) lirs_.emplace(config);
        else lru_.emplace(config);
    }
    void on_insert(const aicache_entry_meta &m) { lirs_ ? lirs_->on_insert(m) : lru_->on_insert(m); }
    void on_hit(const aicache_entry_meta &m) { lirs_ ? lirs_->on_hit(m) : lru_->on_hit(m); }
    void on_remove(uint64_t key) { lirs_ ? lirs_->on_remove(key) : lru_->on_remove(key); }
    std::optional<uint64_t> victim() { return lirs_ ? lirs_->victim() : lru_->victim(); }
    void clear() { lirs_ ? lirs_->clear() : lru_->clear(); }

private:
    std::optional<Lru> lru_;
    std::optional<Lirs> lirs_;
};

// Hits of `policy` on `keys` in a cache of `capacity` bytes: before `split`, and from it on. Each
// key's size is its entry in `sizes` (key % sizes.size()), one byte when there are none.
template <class Policy, class AfterEach = void (*)()>
std::pair<uint64_t, uint64_t> replay(Policy &policy, const std::vector<uint64_t> &keys, uint64_t capacity, size_t split,
                                     const std::vector<uint64_t> &sizes = {}, AfterEach after_each = [] {}) {
    std::map<uint64_t, uint64_t> cached; // key -> size
    uint64_t used = 0;
    uint64_t hits[2] = {0, 0};
    for (size_t at = 0; at < keys.size(); ++at) {
        const uint64_t key = keys[at];
        aicache_entry_meta meta{};
        meta.struct_size = sizeof meta;
        meta.key = key;
        meta.size_bytes = sizes.empty() ? 1 : sizes[key % sizes.size()];
        meta.cost = 1;
        if (cached.count(key)) {
            policy.on_hit(meta);
            ++hits[at >= split];
            after_each();
            continue;
        }
        if constexpr (requires { policy.admit(meta); })
            if (!policy.admit(meta)) {
                after_each();
                continue;
            }
        while (used + meta.size_bytes > capacity) {
            const std::optional<uint64_t> gone = policy.victim();
            REQUIRE(gone);
            const auto held = cached.find(*gone);
            REQUIRE(held != cached.end()); // it names only what the cache holds
            used -= held->second;
            cached.erase(held);
        }
        cached.emplace(key, meta.size_bytes);
        used += meta.size_bytes;
        policy.on_insert(meta);
        after_each();
    }
    return {hits[0], hits[1]};
}

constexpr size_t kLoop = 3600; // requests of the loop, then the recent part

std::vector<uint64_t> loop_then_recent() {
    std::vector<uint64_t> keys;
    for (int round = 0; round < 30; ++round)
        for (uint64_t i = 0; i < 120; ++i) keys.push_back(i); // three times the cache: LRU hits nothing
    for (uint64_t i = 0; i < 3000; ++i) {
        keys.push_back(1000 + i);
        if (i >= 15) keys.push_back(1000 + i - 15); // each once more, 30 requests later
    }
    return keys;
}

// LRU, then `lirs` LIRS experts.
std::vector<LruOrLirs> lru_and_lirs(const Config &config, int lirs = 1) {
    std::vector<LruOrLirs> experts;
    experts.emplace_back(false, config);
    for (int i = 0; i < lirs; ++i) experts.emplace_back(true, config);
    return experts;
}

// LRU's and LIRS's hits alone on the loop and on the recent part.
struct Alone {
    uint64_t lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent;
};

Alone replay_alone(const Config &config, const std::vector<uint64_t> &keys) {
    Lru lru(config);
    Lirs lirs(config);
    const auto [lru_on_loop, lru_on_recent] = replay(lru, keys, 40, kLoop);
    const auto [lirs_on_loop, lirs_on_recent] = replay(lirs, keys, 40, kLoop);
    return {lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent};
}

} // namespace

TEST_CASE("a portfolio's real cache follows its leading expert: LIRS through a loop, then LRU where reuse comes soon") {
    const Config config = Config::parse(R"({"capacity_bytes": 40})");
    const std::vector<uint64_t> keys = loop_then_recent();
    const auto [lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent] = replay_alone(config, keys);
    REQUIRE(lru_on_loop == 0);
    REQUIRE(lirs_on_loop > 1000);
    REQUIRE(lru_on_recent > lirs_on_recent + 1000);

    // LRU leads first and has no hits on the loop, so LIRS takes over at its first hit and the
    // portfolio is LIRS but for the requests before it. Then, on traffic LRU suits, the lead
    // changes hands back and the portfolio keeps most of LRU's hits.
    aicache::sdk::Portfolio<LruOrLirs> portfolio(lru_and_lirs(config), {.capacity_bytes = 40, .first = 0});
    const auto [on_loop, on_recent] = replay(portfolio, keys, 40, kLoop);
    CHECK(on_loop > lirs_on_loop - 40);
    CHECK(on_loop <= lirs_on_loop);
    CHECK(portfolio.leader() == 0);
    CHECK(on_recent > lirs_on_recent + (lru_on_recent - lirs_on_recent) * 8 / 10);
}

TEST_CASE("a portfolio led first by LIRS is LIRS where no other expert does better, and a cost on changing hands delays a change") {
    const Config config = Config::parse(R"({"capacity_bytes": 40})");
    const std::vector<uint64_t> keys = loop_then_recent();
    Lirs lirs(config);
    const auto [lirs_on_loop, lirs_on_recent] = replay(lirs, keys, 40, kLoop);
    auto run = [&](double switch_cost) {
        aicache::sdk::Portfolio<LruOrLirs> portfolio(lru_and_lirs(config), {.capacity_bytes = 40, .first = 1, .switch_cost = switch_cost});
        return replay(portfolio, keys, 40, kLoop);
    };
    const auto [on_loop, on_recent] = run(0);
    CHECK(on_loop == lirs_on_loop); // hit for hit
    const auto [costly_on_loop, costly_on_recent] = run(4);
    CHECK(costly_on_loop == lirs_on_loop);
    CHECK(costly_on_recent < on_recent);
    CHECK(costly_on_recent > lirs_on_recent);

    std::vector<LruOrLirs> none;
    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(std::move(none), {}), aicache::sdk::Error);
    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(lru_and_lirs(config, 0), {.first = 1}), aicache::sdk::Error);
}

TEST_CASE("with a shorter memory the lead changes hands sooner when the traffic changes") {
    // LIRS gathers hits through the loop; on the recent part LRU does better. The lead comes back
    // to LRU once LRU's fading hits pass LIRS's: the longer the memory, the later.
    const Config config = Config::parse(R"({"capacity_bytes": 40})");
    const std::vector<uint64_t> keys = loop_then_recent();
    const auto [lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent] = replay_alone(config, keys);
    auto on_recent = [&](double memory) {
        aicache::sdk::Portfolio<LruOrLirs> portfolio(lru_and_lirs(config), {.capacity_bytes = 40, .first = 1, .memory = memory});
        return replay(portfolio, keys, 40, kLoop).second;
    };
    const uint64_t usual = on_recent(64), long_memory = on_recent(1024);
    CHECK(usual > lirs_on_recent + (lru_on_recent - lirs_on_recent) * 8 / 10);
    CHECK(long_memory + (lru_on_recent - lirs_on_recent) / 8 < usual); // 1,915 against 2,475 of 2,985
    CHECK(long_memory > lirs_on_recent);
    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(lru_and_lirs(config, 0), {.memory = 0}), aicache::sdk::Error);
}

TEST_CASE("with a vote the experts evict together: each expert's say grows with its hits, so a steep vote follows the leader and a flat one the majority") {
    const Config config = Config::parse(R"({"capacity_bytes": 40})");
    const std::vector<uint64_t> keys = loop_then_recent();
    const auto [lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent] = replay_alone(config, keys);
    // LRU and LIRS twice: on the recent part LRU leads, but LIRS holds two votes of three.
    auto run = [&](double vote) {
        aicache::sdk::Portfolio<LruOrLirs> portfolio(lru_and_lirs(config, 2), {.capacity_bytes = 40, .vote = vote});
        return replay(portfolio, keys, 40, kLoop);
    };
    const auto [steep_on_loop, steep_on_recent] = run(1e6);
    CHECK(steep_on_loop > lirs_on_loop - 40);
    CHECK(steep_on_recent > lirs_on_recent + (lru_on_recent - lirs_on_recent) * 8 / 10);
    const auto [flat_on_loop, flat_on_recent] = run(1e-9);
    CHECK(flat_on_loop > lirs_on_loop - 40);
    CHECK(flat_on_recent < lirs_on_recent + (lru_on_recent - lirs_on_recent) / 2);

    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(lru_and_lirs(config, 0), {.vote = -1}), aicache::sdk::Error);
}

TEST_CASE("with entries of different sizes the real cache holds what its leader holds, and changes hands only when that is worth its cost") {
    // Sizes 1 to 24 bytes in a 200-byte cache, keys drawn with reuse: a leader often evicts several
    // small entries to make room for a large one. The real cache must stop where the leader did
    // (taking them last first kept small entries the leader had let go: 5,873 hits against LRU's
    // 5,703), and the lead must be judged once those entries are gone (judged before, a cost no
    // lead can pay handed the lead over 719 times in 20,000 requests).
    std::vector<uint64_t> sizes;
    for (uint64_t i = 0; i < 97; ++i) sizes.push_back(1 + (i * 37) % 24);
    std::vector<uint64_t> keys;
    uint64_t state = 12345;
    for (int i = 0; i < 20000; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        const uint64_t draw = state >> 33;
        keys.push_back(draw % 4 == 0 ? draw % 400 : draw % 40); // a hot set and a wider one
    }
    const Config config = Config::parse(R"({"capacity_bytes": 200})");
    for (const bool lirs : {false, true}) {
        CAPTURE(lirs);
        LruOrLirs alone(lirs, config);
        const uint64_t alone_hits = replay(alone, keys, 200, keys.size(), sizes).first;
        std::vector<LruOrLirs> one;
        one.emplace_back(lirs, config);
        aicache::sdk::Portfolio<LruOrLirs> single(std::move(one), {.capacity_bytes = 200});
        CHECK(alone_hits > 5000);
        CHECK(replay(single, keys, 200, keys.size(), sizes).first == alone_hits); // hit for hit

        auto changes_of_hands = [&](double switch_cost) {
            aicache::sdk::Portfolio<LruOrLirs> portfolio(lru_and_lirs(config), {.capacity_bytes = 200, .first = size_t(lirs), .switch_cost = switch_cost});
            size_t leader = portfolio.leader(), changes = 0;
            replay(portfolio, keys, 200, keys.size(), sizes, [&] {
                changes += portfolio.leader() != leader;
                leader = portfolio.leader();
            });
            return changes;
        };
        // Beyond any lead, the hands change only where that costs nothing: the rival holds all the
        // real cache holds (at the start, and where the two agree).
        const size_t beyond_any_lead = changes_of_hands(1e9);
        CHECK(beyond_any_lead <= changes_of_hands(0));
        CHECK(beyond_any_lead < 100);
    }
}
