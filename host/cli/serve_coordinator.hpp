// The learning coordinator inside `serve`: a learning cycle (learning/coordinator.hpp) on the
// recorded traffic, on a schedule (--learn-every) and when the monitor's last window drifted
// (--learn-on-drift, learning/drift_test.hpp), on a thread of its own under SCHED_IDLE (it
// runs only on CPU time the data plane leaves: bench/proxy_bench.sh), with at most one cycle at a time; a
// recommendation goes to the parameter canary, which promotes or rolls it back on live traffic.
// A cycle first asks whether another policy plugin would serve the recorded traffic better (a
// recommended swap goes to the parameter canary with the other library); if not, it tunes the
// serving policy's parameters. With semantic matching on, a cycle also picks the encoder opportunity: enough newly judged
// matches to train on; a checkpoint that holds up on held-out pairs goes to the model canary.
#pragma once

#include "cli/data_plane.hpp"
#include "learning/request_log.hpp"
#include "patches/model_canary.hpp"
#include "patches/parameter_canary.hpp"
#include "replay/replay.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace aicache::cli {

struct ServeCoordinatorOptions {
    std::chrono::seconds every{0}; // 0: no schedule
    uint64_t every_windows = 0;    // also a cycle every this many monitor windows (0: none)
    bool on_drift = false;
    uint64_t trials = 30;
    uint64_t history = 0; // the latest this many recorded requests (0: all)
    double cpu_seconds = 0; // each cycle's search: CPU seconds on its thread (0: the trials bound it)
    replay::Objective objective = replay::Objective::tokens;
    std::string space;    // empty: the policy's known space
    // The encoder opportunity: with semantic matching on, a cycle also trains the encoder on the
    // matches the host has judged (<data>/learned-pairs.jsonl) once this many more were judged, for
    // this long, and puts a checkpoint that holds up on held-out pairs on a model canary.
    uint64_t encoder_seconds = 30; // 0: never
    uint64_t encoder_min_pairs = 200;
    double encoder_min_gain_points = 1.0; // held-out hit rate at encoder_false_hits, over the serving model's
    double encoder_false_hits = 0.05;
    // The policy-choice opportunity: the policy plugins a cycle compares with the serving one
    // (learning::choose_policy); none: it is not tried.
    std::vector<std::pair<std::string, std::shared_ptr<const loader::PluginLibrary>>> policies;
    patches::CanaryOptions model_canary = [] {
        patches::CanaryOptions o;
        o.share = 0.5;
        o.window_lookups = 200; // questions matched: fewer than lookups, only exact misses are matched
        return o;
    }();
    patches::CanaryOptions canary = [] { // how a recommendation (or, by default, an operator's change) is tried on live traffic
        patches::CanaryOptions o;
        o.objective = replay::Objective::tokens; // what the host is for
        return o;
    }();
};

class ServeCoordinator {
public:
    ServeCoordinator(ServeCoordinatorOptions options, DataPlane &plane, const std::string &policy_name, learning::RequestLog *log,
                     patches::ParameterCanary &canary, std::shared_ptr<const loader::PluginLibrary> tuner);
    ~ServeCoordinator();
    void start();
    void stop();
    // From the monitor's sink: a window was closed and stored.
    void window_closed();
    // Once semantic matching is open: cycles may train `encoder` and canary it through `models`.
    void train_models_with(patches::ModelCanary *models, std::shared_ptr<const loader::PluginLibrary> encoder);

private:
    void run();
    // True when it put a recommendation on canary.
    bool cycle(const std::string &trigger);
    bool policy_cycle(const std::string &trigger);
    bool choice_cycle(const std::string &trigger);
    // The host's request log, flushed and read; nothing (and the error logged) when it cannot be.
    std::optional<replay::Trace> recorded_traffic();
    bool encoder_cycle(const std::string &trigger);

    ServeCoordinatorOptions options_;
    DataPlane &plane_;
    std::string policy_name_;
    learning::RequestLog *log_;
    patches::ParameterCanary &canary_;
    std::shared_ptr<const loader::PluginLibrary> tuner_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false, window_pending_ = false;
    uint64_t windows_closed_ = 0;
    uint64_t last_window_end_us_ = 0, reference_from_us_ = 0; // the drift test's reference starts after the last cycle
    std::thread thread_;
    std::mutex models_mutex_;
    patches::ModelCanary *models_ = nullptr;
    std::shared_ptr<const loader::PluginLibrary> encoder_;
    size_t judged_at_last_encoder_cycle_ = 0;
    std::optional<std::pair<int64_t, int64_t>> waiting_checkpoint_; // (cycle, checkpoint) that found the canary busy
};

} // namespace aicache::cli
