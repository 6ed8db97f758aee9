// A portfolio of eviction policies ("experts") behind one real cache. Each expert runs a simulated
// cache of the real one's capacity on the same requests, and its hits are counted with a decay;
// the real cache holds what the leading expert holds: it admits what the leader cached, and evicts
// first what the leader evicted on this request, then what the leader no longer holds.
//
// An expert is any class with the policy calls (on_insert, on_hit, on_remove, victim, clear, and
// optionally admit), such as the SDK's reference policies or a patch's own. The `history` patch template
// builds its portfolio from this header; a plugin can too:
//
//   std::vector<Expert> experts = ...;            // Expert: one type (a policy, or a switch over several)
//   aicache::sdk::Portfolio<Expert> portfolio(std::move(experts), {.capacity_bytes = c});
//
// Changing hands costs misses: the real cache must refill what the new leader holds and it does
// not. Options::switch_cost weighs that: an expert's standing is its decayed hits minus
// switch_cost for every key the real cache holds and it does not, once the real cache has let go
// what the leader evicted on this request.
//
// Options::vote > 0 lets the experts evict together instead (admission still follows the
// leader): the real cache drops the key the fewest experts hold, each expert's say being (its
// decayed hits / the most any has)^vote, so a large vote is nearly the leader alone and a small
// one a plain majority. Where experts are within a few hits of each other (which is where
// following one of them loses to another by luck), the keys they all keep are the ones worth
// keeping: on address_gcc the same patch is +0.093 / +0.004 / +0.009 / +0.001 points from the
// best classical policy at 1 / 5 / 10 / 25% voting, +0.053 / +0.002 / +0.006 / -0.009 following.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/error.hpp>
#include <aicache/sdk/key_index.hpp>
#include <aicache/sdk/sampling_random.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace aicache::sdk {

// The keys and bytes one cache holds, each with when it was last used.
class ResidentSet {
public:
    bool contains(uint64_t key) const { return index_.find(key) != index_.npos; }
    void add(uint64_t key, uint64_t size, uint64_t now = 0) {
        index_.set(key, static_cast<uint32_t>(keys_.size()));
        keys_.push_back(Resident{key, size, now});
        bytes_ += size;
    }
    void touch(uint64_t key, uint64_t now) {
        if (const uint32_t at = index_.find(key); at != index_.npos) keys_[at].last = now;
    }
    bool remove(uint64_t key) {
        const uint32_t at = index_.find(key);
        if (at == index_.npos) return false;
        bytes_ -= keys_[at].size;
        index_.erase(key);
        if (at + 1 != keys_.size()) {
            keys_[at] = keys_.back();
            index_.assign(keys_[at].key, at);
        }
        keys_.pop_back();
        return true;
    }
    uint64_t bytes() const { return bytes_; }
    size_t size() const { return keys_.size(); }
    // Where key sits among key_at's positions; size() when it is not held.
    size_t position(uint64_t key) const {
        const uint32_t at = index_.find(key);
        return at == index_.npos ? keys_.size() : at;
    }
    uint64_t key_at(size_t at) const { return keys_[at].key; }
    uint64_t last_at(size_t at) const { return keys_[at].last; }
    void clear() {
        index_.clear();
        keys_.clear();
        bytes_ = 0;
    }

private:
    struct Resident {
        uint64_t key, size, last;
    };
    KeyIndex index_;
    std::vector<Resident> keys_;
    uint64_t bytes_ = 0;
};

template <class Expert>
class Portfolio {
public:
    struct Options {
        uint64_t capacity_bytes = UINT64_MAX; // each expert's simulated cache has as many
        size_t first = 0;                     // the expert that leads before any has hits
        double switch_cost = 0;               // misses charged per key the real cache would have to refill
        double vote = 0;                      // 0: the real cache follows the leader; > 0: the experts' say's power
        double memory = 64;                   // hits fade over this many times the leader's entries
    };

    Portfolio(std::vector<Expert> experts, const Options &options) : options_(options), leader_(options.first) {
        experts_.reserve(experts.size());
        for (Expert &policy : experts) experts_.push_back(Member{std::move(policy), {}, 0, 0});
        if (experts_.empty()) throw invalid_argument("portfolio: no experts");
        if (leader_ >= experts_.size()) throw invalid_argument("portfolio: the first expert is not one of them");
        if (!(options.vote >= 0)) throw invalid_argument("portfolio: vote must be 0 or more");
        if (!(options.memory > 0)) throw invalid_argument("portfolio: memory must be above 0");
    }

    bool admit(const aicache_entry_meta &meta) {
        request(meta);
        return experts_[leader_].residents.contains(meta.key);
    }
    void on_insert(const aicache_entry_meta &meta) {
        if (cached_.contains(meta.key)) return;
        cached_.add(meta.key, meta.size_bytes, clock_);
        for (Member &e : experts_) e.shared += e.residents.contains(meta.key);
    }
    void on_hit(const aicache_entry_meta &meta) {
        request(meta);
        cached_.touch(meta.key, clock_);
    }
    void on_remove(uint64_t key) {
        const bool was_cached = cached_.remove(key);
        for (Member &e : experts_)
            if (e.residents.remove(key)) {
                e.policy.on_remove(key);
                e.shared -= was_cached;
            }
    }
    std::optional<uint64_t> victim() {
        if (cached_.size() == 0) return std::nullopt;
        if (options_.vote > 0) return take(cached_.key_at(least_held()));
        const ResidentSet &lead = experts_[leader_].residents;
        // What the leader evicted on this request, in the order it did: with entries of different
        // sizes the real cache must stop where the leader stopped (taken last first, one large
        // entry freed what the leader freed with several small ones, and the caches drifted apart:
        // ARC's expert fell from 25,472 to 22,041 hits on cloudphysics.oracleGeneral.bin at 10%).
        while (dropped_next_ < dropped_.size()) {
            const uint64_t key = dropped_[dropped_next_++];
            if (cached_.contains(key) && !lead.contains(key)) return take(key);
        }
        // Since a change of leader: what the leader no longer holds, least recently used first
        // among 64 drawn (any of them, least recently used, when the leader holds all 64).
        size_t chosen = cached_.size();
        bool chosen_held = true;
        for (int draw = 0; draw < 64; ++draw) {
            const size_t at = random_.next() % cached_.size();
            const bool held = lead.contains(cached_.key_at(at));
            if (chosen == cached_.size() || (chosen_held && !held) || (held == chosen_held && cached_.last_at(at) < cached_.last_at(chosen)))
                chosen = at, chosen_held = held;
        }
        return take(cached_.key_at(chosen));
    }
    void clear() {
        cached_.clear();
        for (Member &e : experts_) {
            e.policy.clear();
            e.residents.clear();
            e.hits = 0;
            e.shared = 0;
        }
        dropped_.clear();
        dropped_next_ = 0;
        released_.clear();
        leader_ = options_.first;
        clock_ = 0;
    }

    size_t leader() const { return leader_; }

private:
    struct Member {
        Expert policy;
        ResidentSet residents;
        double hits;     // decayed
        uint64_t shared; // keys both it and the real cache hold
    };

    void request(const aicache_entry_meta &meta) {
        ++clock_;
        dropped_.clear();
        dropped_next_ = 0;
        released_.clear();
        // Hits fade over `memory` times as many requests as the leader holds entries (at least
        // 2048): long enough that experts close to each other do not take turns (each turn costs
        // the misses of refilling), short enough to follow a change of traffic. Measured with
        // three rivals on 14 traces at 1% and 10%: 64 left the worst cell 0.59 points behind the
        // best classical policy, 16 0.91, 4 1.49; 256 no better than 64. A trace that changes
        // within fewer requests than that (cloudphysics with its block sizes, whose leader at 10%
        // holds some 5,000 entries of 114,000 requests) needs a shorter one.
        const double horizon = options_.memory * double(experts_[leader_].residents.size());
        const double decay = 1.0 - 1.0 / (horizon > 2048 ? horizon : 2048);
        for (size_t i = 0; i < experts_.size(); ++i) {
            Member &e = experts_[i];
            e.hits *= decay;
            if (e.residents.contains(meta.key)) {
                e.policy.on_hit(meta);
                e.hits += 1;
                continue;
            }
            if (meta.size_bytes > options_.capacity_bytes || !admits(e.policy, meta)) continue;
            while (e.residents.bytes() + meta.size_bytes > options_.capacity_bytes) {
                const std::optional<uint64_t> gone = e.policy.victim();
                if (!gone || !e.residents.remove(*gone)) break; // the expert lost track: leave it short
                e.shared -= cached_.contains(*gone);
                if (i == leader_) dropped_.push_back(*gone);
                released_.push_back(*gone);
            }
            if (e.residents.bytes() + meta.size_bytes > options_.capacity_bytes) continue;
            e.residents.add(meta.key, meta.size_bytes);
            e.shared += cached_.contains(meta.key);
            e.policy.on_insert(meta);
        }
        // Judge the experts on the real cache as it will be once it has evicted what the leader
        // dropped: judged before, the leader is charged for every key it just let go (and a rival
        // credited for holding it), so with entries of many sizes a large newcomer, which makes
        // the leader drop several, handed the lead to a rival even at a cost no lead can pay.
        // (With a vote the real cache may keep some of them; the leader is then spared a little.)
        leaving_.assign(experts_.size(), 0);
        for (const uint64_t key : dropped_)
            if (cached_.contains(key))
                for (size_t i = 0; i < experts_.size(); ++i) leaving_[i] += !experts_[i].residents.contains(key);
        size_t best = leader_;
        double best_standing = standing(leader_);
        for (size_t i = 0; i < experts_.size(); ++i)
            if (const double s = standing(i); s > best_standing) best = i, best_standing = s;
        leader_ = best;
    }
    static bool admits(Expert &policy, const aicache_entry_meta &meta) {
        if constexpr (requires { policy.admit(meta); }) return policy.admit(meta);
        return true; // an expert without admit() takes every newcomer, as the host would
    }
    double standing(size_t i) const {
        const uint64_t not_held = cached_.size() - experts_[i].shared - leaving_[i]; // keys it would refill
        return experts_[i].hits - options_.switch_cost * double(not_held);
    }
    // The real cache's entry with the least say behind it, least recently used first: among what
    // any expert evicted on this request (where the keys no expert holds any more come from) and
    // 64 entries drawn at random.
    size_t least_held() {
        say_.resize(experts_.size());
        double most = 0;
        for (const Member &e : experts_) most = e.hits > most ? e.hits : most;
        // Before any expert has hits, the first one alone has a say, as it alone leads: an equal
        // say would keep what most experts hold, and lose what the first keeps for later (LIRS's
        // loop keys, a miss each once its hits begin).
        for (size_t i = 0; i < experts_.size(); ++i)
            say_[i] = most > 0 ? std::pow(experts_[i].hits / most, options_.vote) : double(i == leader_);
        size_t chosen = cached_.size();
        double chosen_say = 0;
        const auto consider = [&](size_t at) {
            double held = 0;
            for (size_t i = 0; i < experts_.size(); ++i)
                if (experts_[i].residents.contains(cached_.key_at(at))) held += say_[i];
            if (chosen == cached_.size() || held < chosen_say || (held == chosen_say && cached_.last_at(at) < cached_.last_at(chosen)))
                chosen = at, chosen_say = held;
        };
        for (const uint64_t key : released_)
            if (const size_t at = cached_.position(key); at != cached_.size()) consider(at);
        for (int draw = 0; draw < 64; ++draw) consider(random_.next() % cached_.size());
        return chosen;
    }
    uint64_t take(uint64_t key) {
        cached_.remove(key);
        for (Member &e : experts_) e.shared -= e.residents.contains(key);
        return key;
    }

    Options options_;
    std::vector<Member> experts_;
    size_t leader_;
    uint64_t clock_ = 0;           // requests seen
    ResidentSet cached_;           // what the real cache holds
    std::vector<uint64_t> dropped_; // what the leader evicted on the request under way
    size_t dropped_next_ = 0;       // the first of them the real cache has not yet been offered
    std::vector<uint64_t> released_; // what any expert evicted on it
    std::vector<double> say_;        // each expert's weight in a vote
    std::vector<uint64_t> leaving_;  // per expert: keys the leader dropped that the real cache holds and it does not
    SamplingRandom random_{0x2545F4914F6CDD1Dull}; // draws among the real cache's entries
};

} // namespace aicache::sdk
