// The SDK's portfolio of experts, driven the way the host drives a policy: a hit, or admit, then
// victims until the newcomer fits, then insert.
#include <aicache/sdk/portfolio.hpp>
#include <aicache/sdk/reference/lirs.hpp>
#include <aicache/sdk/reference/lru.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <set>
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

// Hits of `policy` on `keys` in a cache of `capacity` one-byte entries: before `split`, and from it on.
template <class Policy>
std::pair<uint64_t, uint64_t> replay(Policy &policy, const std::vector<uint64_t> &keys, uint64_t capacity, size_t split) {
    std::set<uint64_t> cached;
    uint64_t hits[2] = {0, 0};
    for (size_t at = 0; at < keys.size(); ++at) {
        const uint64_t key = keys[at];
        aicache_entry_meta meta{};
        meta.struct_size = sizeof meta;
        meta.key = key;
        meta.size_bytes = 1;
        meta.cost = 1;
        if (cached.count(key)) {
            policy.on_hit(meta);
            ++hits[at >= split];
            continue;
        }
        if constexpr (requires { policy.admit(meta); })
            if (!policy.admit(meta)) continue;
        while (cached.size() + 1 > capacity) {
            const std::optional<uint64_t> gone = policy.victim();
            REQUIRE(gone);
            REQUIRE(cached.erase(*gone) == 1); // it names only what the cache holds
        }
        cached.insert(key);
        policy.on_insert(meta);
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
    std::vector<LruOrLirs> experts;
    experts.emplace_back(false, config);
    experts.emplace_back(true, config);
    aicache::sdk::Portfolio<LruOrLirs> portfolio(std::move(experts), {.capacity_bytes = 40, .first = 0});
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
        std::vector<LruOrLirs> experts;
        experts.emplace_back(false, config);
        experts.emplace_back(true, config);
        aicache::sdk::Portfolio<LruOrLirs> portfolio(std::move(experts), {.capacity_bytes = 40, .first = 1, .switch_cost = switch_cost});
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
    std::vector<LruOrLirs> one;
    one.emplace_back(false, config);
    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(std::move(one), {.first = 1}), aicache::sdk::Error);
}

TEST_CASE("with a vote the experts evict together: each expert's say grows with its hits, so a steep vote follows the leader and a flat one the majority") {
    const Config config = Config::parse(R"({"capacity_bytes": 40})");
    const std::vector<uint64_t> keys = loop_then_recent();
    const auto [lru_on_loop, lru_on_recent, lirs_on_loop, lirs_on_recent] = replay_alone(config, keys);
    // LRU and LIRS twice: on the recent part LRU leads, but LIRS holds two votes of three.
    auto run = [&](double vote) {
        std::vector<LruOrLirs> experts;
        experts.emplace_back(false, config);
        experts.emplace_back(true, config);
        experts.emplace_back(true, config);
        aicache::sdk::Portfolio<LruOrLirs> portfolio(std::move(experts), {.capacity_bytes = 40, .vote = vote});
        return replay(portfolio, keys, 40, kLoop);
    };
    const auto [steep_on_loop, steep_on_recent] = run(1e6);
    CHECK(steep_on_loop > lirs_on_loop - 40);
    CHECK(steep_on_recent > lirs_on_recent + (lru_on_recent - lirs_on_recent) * 8 / 10);
    const auto [flat_on_loop, flat_on_recent] = run(1e-9);
    CHECK(flat_on_loop > lirs_on_loop - 40);
    CHECK(flat_on_recent < lirs_on_recent + (lru_on_recent - lirs_on_recent) / 2);

    std::vector<LruOrLirs> experts;
    experts.emplace_back(false, config);
    CHECK_THROWS_AS(aicache::sdk::Portfolio<LruOrLirs>(std::move(experts), {.vote = -1}), aicache::sdk::Error);
}
