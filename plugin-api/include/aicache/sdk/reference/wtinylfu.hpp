// W-TinyLFU (Einziger, Friedman & Manes, ACM ToS 2017) with Caffeine's adaptive window
// (Einziger et al., Middleware 2018). New entries enter a small LRU window; an entry leaving the
// window competes with the main cache's next victim, and only the one a frequency sketch says is
// more popular stays. The main cache is a segmented LRU (probation, protected). Frequencies come
// from a count-min sketch of 4-bit counters behind a doorkeeper bloom filter, halved every
// 10 x W accesses so old popularity fades. The window's share is tuned by hill climbing on the
// hit rate of each sample period.
//
// The reference WTinyLfu: the built-in `wtinylfu` plugin exports this class, and a policy patch may run it
// beside its own code (the `history` template's `classical` experts).
#pragma once

#include <aicache/sdk/policy.hpp>
#include <aicache/sdk/sized_list.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace aicache::sdk::reference {

// Count-min sketch, 4 rows of 4-bit counters (saturating at 15), with a doorkeeper: the first
// sighting of a key only sets its doorkeeper bits; later ones count in the sketch.
class FrequencySketch {
public:
    void ensure_width(size_t entries) {
        size_t width = 64;
        while (width < entries) width <<= 1;
        if (width <= counters_[0].size()) return;
        for (auto &row : counters_) row.assign(width, 0);
        doorkeeper_.assign(width * 2, false);
        mask_ = width - 1;
        additions_ = 0;
    }
    void increment(uint64_t key) {
        if (counters_[0].empty()) ensure_width(64);
        if (!seen(key)) {
            remember(key);
        } else {
            for (int row = 0; row < 4; ++row) {
                uint8_t &c = counters_[row][index(key, row)];
                if (c < 15) ++c;
            }
        }
        if (++additions_ >= 10 * counters_[0].size()) age();
    }
    [[nodiscard]] uint32_t estimate(uint64_t key) const {
        if (counters_[0].empty()) return 0;
        uint32_t least = 15;
        for (int row = 0; row < 4; ++row) least = std::min<uint32_t>(least, counters_[row][index(key, row)]);
        return least + (seen(key) ? 1 : 0);
    }
    void save(aicache::sdk::StateWriter &out) const {
        out.u64(counters_[0].size());
        out.u64(additions_);
        for (const auto &row : counters_) out.raw(row.data(), row.size());
        for (size_t i = 0; i < doorkeeper_.size(); i += 8) {
            uint8_t byte = 0;
            for (size_t b = 0; b < 8 && i + b < doorkeeper_.size(); ++b) byte |= uint8_t(doorkeeper_[i + b]) << b;
            out.u8(byte);
        }
    }
    void load(aicache::sdk::StateReader &in) {
        uint64_t width = in.u64();
        if (width != 0 && (width < 64 || (width & (width - 1)) != 0 || width > in.remaining()))
            throw aicache::sdk::state_format_error("wtinylfu state: bad sketch width");
        additions_ = in.u64();
        for (auto &row : counters_) {
            row.resize(width);
            for (auto &c : row) {
                c = in.u8();
                if (c > 15) throw aicache::sdk::state_format_error("wtinylfu state: sketch counter over 15");
            }
        }
        doorkeeper_.assign(width * 2, false);
        for (size_t i = 0; i < doorkeeper_.size(); i += 8) {
            uint8_t byte = in.u8();
            for (size_t b = 0; b < 8 && i + b < doorkeeper_.size(); ++b) doorkeeper_[i + b] = (byte >> b) & 1;
        }
        mask_ = width ? width - 1 : 0;
    }
    // Halve every counter and forget the doorkeeper: popularity decays by half each period.
    void age() {
        for (auto &row : counters_)
            for (auto &c : row) c >>= 1;
        std::fill(doorkeeper_.begin(), doorkeeper_.end(), false);
        additions_ = 0;
    }

private:
    static uint64_t mix(uint64_t x, uint64_t seed) {
        x += seed * 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return x ^ (x >> 31);
    }
    [[nodiscard]] size_t index(uint64_t key, int row) const { return static_cast<size_t>(mix(key, row + 1)) & mask_; }
    [[nodiscard]] bool seen(uint64_t key) const {
        size_t n = doorkeeper_.size();
        return doorkeeper_[mix(key, 11) % n] && doorkeeper_[mix(key, 12) % n];
    }
    void remember(uint64_t key) {
        size_t n = doorkeeper_.size();
        doorkeeper_[mix(key, 11) % n] = true;
        doorkeeper_[mix(key, 12) % n] = true;
    }

    std::array<std::vector<uint8_t>, 4> counters_;
    std::vector<bool> doorkeeper_;
    size_t mask_ = 0;
    uint64_t additions_ = 0;
};

class WTinyLfu {
public:
    static constexpr const char *state_format = "wtinylfu/1";

    explicit WTinyLfu(const aicache::sdk::Config &config)
        : capacity_(config.unsigned_integer("capacity_bytes", 0)), window_ratio_(config.number("window_ratio", 0.01)),
          protected_ratio_(config.number("protected_ratio", 0.80)), adaptive_(config.text("adaptive", "true") == "true") {
        if (!(window_ratio_ >= 0 && window_ratio_ <= 0.8)) throw aicache::sdk::invalid_argument("wtinylfu: window_ratio must be in [0, 0.8]");
        if (!(protected_ratio_ > 0 && protected_ratio_ < 1)) throw aicache::sdk::invalid_argument("wtinylfu: protected_ratio must be in (0, 1)");
        window_target_ = window_ratio_ * double(capacity());
        step_ = 0.0625 * double(capacity());
    }

    void on_insert(const aicache_entry_meta &meta) {
        on_remove(meta.key);
        sketch_.ensure_width(resident() + 1);
        sketch_.increment(meta.key);
        window_.push(meta.key, std::max<uint64_t>(meta.size_bytes, 1));
        // Window overflow becomes a candidate for the main cache; it competes for a place only
        // when room is needed (victim), as in Caffeine's evictFromWindow / evictFromMain.
        while (double(window_.bytes) > window_target_ && window_.list.size() > 1) {
            auto oldest = window_.list.back();
            uint64_t key = window_.list.node(oldest).key, size = window_.list.node(oldest).payload;
            window_.erase(oldest);
            candidates_.push(key, size);
        }
        // While the main cache is not full, candidates are admitted without a contest.
        const double main_target = double(capacity()) - window_target_;
        while (!candidates_.list.empty()) {
            auto c = candidates_.list.back();
            uint64_t key = candidates_.list.node(c).key, size = candidates_.list.node(c).payload;
            if (double(probation_.bytes + protected_.bytes + size) > main_target) break;
            candidates_.erase(c);
            probation_.push(key, size);
        }
        sample(false);
    }
    void on_hit(const aicache_entry_meta &meta) {
        const uint64_t key = meta.key;
        sketch_.increment(key);
        sample(true);
        if (auto i = window_.list.find(key); i != List::npos) {
            window_.list.move_to_front(i);
        } else if (auto j = probation_.list.find(key), c = candidates_.list.find(key); j != List::npos || c != List::npos) {
            Segment &from = j != List::npos ? probation_ : candidates_;
            auto i = j != List::npos ? j : c;
            uint64_t size = from.list.node(i).payload;
            from.erase(i);
            protected_.push(key, size);
            // Protected over its share: its least recent entry goes back to probation.
            const double target = protected_ratio_ * (double(capacity()) - window_target_);
            while (double(protected_.bytes) > target && protected_.list.size() > 1) {
                auto oldest = protected_.list.back();
                uint64_t demoted = protected_.list.node(oldest).key, demoted_size = protected_.list.node(oldest).payload;
                protected_.erase(oldest);
                probation_.push(demoted, demoted_size);
            }
        } else if (auto k = protected_.list.find(key); k != List::npos) {
            protected_.list.move_to_front(k);
        }
    }
    void on_remove(uint64_t key) {
        for (Segment *s : {&window_, &candidates_, &probation_, &protected_})
            if (auto i = s->list.find(key); i != List::npos) {
                s->erase(i);
                return;
            }
    }
    std::optional<uint64_t> victim() {
        if (resident() == 0) return std::nullopt;
        Segment *main = !probation_.list.empty() ? &probation_ : !protected_.list.empty() ? &protected_ : nullptr;
        if (!candidates_.list.empty() && main != nullptr) {
            auto c = candidates_.list.back();
            uint64_t candidate = candidates_.list.node(c).key, size = candidates_.list.node(c).payload;
            auto v = main->list.back();
            uint64_t incumbent = main->list.node(v).key;
            candidates_.erase(c);
            // TinyLFU admission: the candidate takes the incumbent's place only if it is more popular.
            if (sketch_.estimate(candidate) > sketch_.estimate(incumbent)) {
                main->erase(v);
                probation_.push(candidate, size);
                return incumbent;
            }
            return candidate;
        }
        // Nothing to compare: the oldest of the main cache, else of the candidates, else the window.
        Segment &from = main != nullptr ? *main : !candidates_.list.empty() ? candidates_ : window_;
        auto v = from.list.back();
        uint64_t key = from.list.node(v).key;
        from.erase(v);
        return key;
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(static_cast<uint64_t>(window_target_));
        out.u64(static_cast<uint64_t>(step_));
        out.u8(direction_ > 0 ? 1 : 0);
        out.u64(hits_);
        out.u64(misses_);
        out.u64(previous_hit_rate_ < 0 ? UINT64_MAX : static_cast<uint64_t>(previous_hit_rate_ * 1e9));
        sketch_.save(out);
        for (const Segment *s : {&window_, &candidates_, &probation_, &protected_}) {
            out.u64(s->list.size());
            for (auto i = s->list.back(); i != List::npos; i = s->list.newer(i)) {
                out.u64(s->list.node(i).key);
                out.u64(s->list.node(i).payload);
            }
        }
    }
    void load_state(aicache::sdk::StateReader &in) {
        clear();
        window_target_ = double(in.u64());
        step_ = double(in.u64());
        direction_ = in.u8() ? 1 : -1;
        hits_ = in.u64();
        misses_ = in.u64();
        uint64_t previous = in.u64();
        previous_hit_rate_ = previous == UINT64_MAX ? -1 : double(previous) / 1e9;
        sketch_.load(in);
        for (Segment *s : {&window_, &candidates_, &probation_, &protected_}) {
            for (uint64_t n = in.count(16); n > 0; --n) {
                uint64_t key = in.u64(), size = in.u64();
                if (window_.list.contains(key) || candidates_.list.contains(key) || probation_.list.contains(key) ||
                    protected_.list.contains(key))
                    throw aicache::sdk::state_format_error("wtinylfu state: a key in two segments");
                s->push(key, size);
            }
        }
    }
    void clear() {
        for (Segment *s : {&window_, &candidates_, &probation_, &protected_}) s->clear();
        window_target_ = window_ratio_ * double(capacity());
        hits_ = misses_ = 0;
        previous_hit_rate_ = -1;
        direction_ = 1;
        step_ = 0.0625 * double(capacity());
        sketch_ = FrequencySketch();
    }
    void stats(std::string &json) const {
        json = "{\"window_target_bytes\":" + std::to_string(static_cast<uint64_t>(window_target_)) +
               ",\"window_bytes\":" + std::to_string(window_.bytes) + ",\"probation_bytes\":" + std::to_string(probation_.bytes) +
               ",\"protected_bytes\":" + std::to_string(protected_.bytes) + "}";
    }

private:
    using Segment = aicache::sdk::SizedList;
    using List = Segment::List;

    [[nodiscard]] size_t resident() const {
        return window_.list.size() + candidates_.list.size() + probation_.list.size() + protected_.list.size();
    }
    [[nodiscard]] uint64_t capacity() const {
        return capacity_ ? capacity_ : std::max<uint64_t>(window_.bytes + candidates_.bytes + probation_.bytes + protected_.bytes, 1);
    }

    // Hill climbing (Caffeine): after each sample, keep moving the window's share the way that
    // raised the hit rate, reverse when it fell; the step decays, and restarts on a big change.
    void sample(bool hit) {
        if (!adaptive_) return;
        (hit ? hits_ : misses_) += 1;
        const uint64_t sample_size = std::max<uint64_t>(1000, 10 * resident());
        if (hits_ + misses_ < sample_size) return;
        double rate = double(hits_) / double(hits_ + misses_);
        hits_ = misses_ = 0;
        if (previous_hit_rate_ >= 0) {
            double change = rate - previous_hit_rate_;
            if (change < 0) direction_ = -direction_;
            step_ = std::abs(change) >= 0.05 ? 0.0625 * double(capacity()) : step_ * 0.98;
            window_target_ = std::clamp(window_target_ + direction_ * step_, 0.0, 0.8 * double(capacity()));
        }
        previous_hit_rate_ = rate;
    }

    uint64_t capacity_;
    double window_ratio_, protected_ratio_;
    bool adaptive_;
    double window_target_ = 0, step_ = 0, direction_ = 1, previous_hit_rate_ = -1;
    uint64_t hits_ = 0, misses_ = 0;
    FrequencySketch sketch_;
    Segment window_, candidates_, probation_, protected_; // candidates: out of the window, not yet admitted
};

} // namespace aicache::sdk::reference
