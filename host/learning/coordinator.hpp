// The learning coordinator's cycle, as `aicache learn now` runs it: collect the recorded traffic
// (the data directory's request log), pick the opportunity (tune the serving policy's parameters),
// search on the earlier half of the traffic (the tune optimizer, every trial recorded), judge the
// winner on the later half, which no trial replayed, in consecutive chunks, and recommend it only
// if it wins on significantly many of them (a one-sided sign test) by a useful margin. Every cycle
// and its reasons are recorded (store/learning_cycles) for `aicache learn history | explain`.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"
#include "replay/replay.hpp"
#include "replay/trace.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aicache::learning {

struct CycleOptions {
    std::string trigger = "manual";
    std::string policy_name;
    std::shared_ptr<const loader::PluginLibrary> policy, tuner;
    std::string space = "{}";              // the tuner's search space
    std::string current_parameters = "{}"; // what the policy serves with now
    uint64_t trials = 30;
    double cpu_seconds = 0;        // CPU the cycle's search may use on its thread; 0: no budget (the trials bound it)
    std::vector<std::string> sizes = {"10%"};
    uint64_t min_requests = 2000;  // less recorded traffic than this: skipped
    replay::Objective objective = replay::Objective::tokens; // the host's own traffic: tokens saved is what it is for
    uint64_t history_requests = 0; // learn from the latest this many recorded requests only (0: all), so a drift is not outvoted by the past
    size_t chunks = 8;             // of the later half, each judged alone
    double min_gain_points = 0.5;  // mean gain over the chunks the change must bring
    double alpha = 0.05;           // the sign test's level
    std::function<void(const std::string &step, uint64_t done, uint64_t total)> on_progress;
};

// The policy-choice opportunity: every given policy (the current one with its parameters, the
// others with their defaults) replays the earlier half of the recorded traffic; the best other one
// is judged against the current one on the later half, in chunks, by the same sign test.
struct PolicyChoiceOptions {
    std::string trigger = "manual";
    std::string current_name, current_parameters = "{}";
    std::vector<std::pair<std::string, std::shared_ptr<const loader::PluginLibrary>>> policies; // the current one among them
    std::vector<std::string> sizes = {"10%"};
    replay::Objective objective = replay::Objective::tokens;
    uint64_t history_requests = 0, min_requests = 2000;
    size_t chunks = 8;
    double min_gain_points = 0.5, alpha = 0.05;
    std::function<void(const std::string &step, uint64_t done, uint64_t total)> on_progress;
};

struct CycleReport {
    int64_t id = 0;
    std::string decision; // recommend, keep, skip
    std::string why;
    nlohmann::json detail = nlohmann::json::object();
    std::optional<std::string> parameters; // recommended, when the decision is recommend
    std::optional<std::string> policy;     // a policy choice's recommendation
};

Expected<CycleReport> run_cycle(store::Database &db, const replay::Trace &traffic, const CycleOptions &options);
Expected<CycleReport> choose_policy(store::Database &db, const replay::Trace &traffic, const PolicyChoiceOptions &options);

// The tune optimizer's search space for a policy whose parameters the host knows (s3fifo,
// wtinylfu), from the policy's defaults; empty for any other.
std::string known_tune_space(const std::string &policy);

// P(X >= wins) for X ~ Binomial(n, 1/2): the one-sided sign test's p-value.
double sign_test_p(size_t wins, size_t n);

} // namespace aicache::learning
