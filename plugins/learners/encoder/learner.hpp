// The encoder learner (see README.md) as a plain class: encoder.cpp exposes it as a plugin, and
// tests/unit/encoder_network_test.cpp drives it directly. Observed pairs are kept as hashed
// features; positives are joined into clusters (union-find); one pair in ten is held out to report
// how the relation head does on pairs it never trained on. For continual learning it keeps a
// memory (memory.hpp) of the pairs it trained on in its checkpoint, and an instance that continues
// from a checkpoint may replay that memory and consolidate what it knew (EWC).
#pragma once

#include "features.hpp"
#include "memory.hpp"
#include "network.hpp"

#include <aicache/sdk/config.hpp>
#include <aicache/sdk/learner.hpp>
#include <aicache/sdk/state.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace encoder {

struct LearnerConfig {
    NetworkConfig network;
    uint64_t memory = 4096; // reservoir slots, in pairs; 0 keeps none
    bool replay = true;     // mix the memory of the checkpoint continued from into training
    double ewc_lambda = 0;  // consolidation strength; 0: none
    // Steps this instance trains in all, counted from its construction or its load; 0: no limit,
    // each train() runs for its budget in milliseconds. When set, each train() runs a fixed number
    // of steps whatever its budget (and EWC's Fisher a fixed number of batches), so a run is the
    // same on a busy machine as on an idle one.
    uint64_t train_steps = 0;
    bool restore_optimizer = true; // continue Adam and Adagrad from the checkpoint's state (encoder/3)
};

// Reads and checks the flat JSON configuration; throws invalid_argument naming the key.
LearnerConfig learner_config(const aicache::sdk::Config &config);

class Learner {
public:
    // encoder/2 adds the memory after the network, encoder/3 the optimizers' state after the
    // memory; encoder/1 (no memory) and encoder/2 (no optimizer state) still load.
    static constexpr const char *state_format = "encoder/3";
    // Under train_steps, the steps of one train() call (at most): ~1 s on one core.
    static constexpr uint64_t steps_per_call = 40;

    explicit Learner(const aicache::sdk::Config &config);
    ~Learner();

    void observe(const aicache_example &example);
    std::string train(uint64_t budget_ms); // a JSON object of what the call did, measured
    void infer(std::string_view request_text, aicache::sdk::Output &out);

    void save_state(aicache::sdk::StateWriter &out) const;
    void load_state(aicache::sdk::StateReader &in);
    void clear();

    [[nodiscard]] const Memory &memory() const { return memory_; }
    [[nodiscard]] const Network &network() const { return *network_; }

private:
    struct StoredPair {
        uint32_t a, b;
        float label;
    };

    void relate(const std::vector<float> &query, const std::vector<std::vector<float>> &candidates, aicache::sdk::Output &out) const;
    uint32_t intern(std::string_view text);
    // Texts joined by positive pairs (`parent`, a union-find over texts_, and `joined`'s), in
    // clusters of two or more.
    [[nodiscard]] Clusters clusters_of(std::vector<uint32_t> parent, const std::vector<StoredPair> &joined) const;
    [[nodiscard]] std::vector<uint32_t> singletons() const; // a union-find with every text on its own
    [[nodiscard]] std::vector<StoredPair> replay_set() const;
    uint64_t consolidate(uint64_t budget_ms);

    LearnerConfig config_;
    std::unique_ptr<Network> network_;
    std::mt19937_64 rng_;
    uint64_t steps_ = 0, observed_ = 0;
    uint64_t session_steps_ = 0; // since construction or load: what train_steps limits
    std::unordered_map<std::string, uint32_t> ids_;
    std::vector<Features> texts_;              // features of each distinct text seen
    std::vector<uint32_t> parent_;             // union-find over texts joined by positive pairs
    std::vector<StoredPair> pairs_, held_out_;
    std::unordered_set<uint64_t> trained_;     // (a, b) of pairs_, so a replayed pair is never a duplicate

    Memory memory_;
    // The memory as the checkpoint this instance continued from held it: what replay mixes in and
    // EWC's Fisher is measured on. A snapshot, so that new pairs entering the reservoir do not
    // thin out the old task while this instance learns the new one.
    std::vector<StoredPair> remembered_;
    bool consolidation_due_ = false; // a checkpoint with memory was loaded and ewc_lambda > 0
};

} // namespace encoder
