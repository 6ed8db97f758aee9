// The demo's workload: questions to an assistant in windows of equal length, steady at first and
// then drifting the way a team's traffic does after a release. Before the drift, Zipf popularity
// over one pool of questions; from the drift on, the popular questions are another pool, a bot
// (CI, an agent) asks a fixed list of questions over and over in the same order, and a share of
// questions are asked once and never again. Each question has an answer size (log-normal bytes,
// as LLM answers) and the tokens a model bills for it (a token per four bytes).
#pragma once

#include "replay/trace.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aicache::replay {

struct DriftingWorkloadOptions {
    uint64_t seed = 7;
    uint64_t windows = 14;
    uint64_t requests_per_window = 5000;
    uint64_t drift_window = 3;    // the first window (0-based) after the drift
    uint64_t pool = 5000;         // questions in each popular pool
    double zipf_alpha = 0.9;
    uint64_t bot_questions = 1500; // the list the bot repeats
    double bot_share = 0.35;       // of the requests after the drift
    double one_off_share = 0.20;   // of the requests after the drift
};

struct DriftingWorkload {
    Trace trace; // ids are question numbers; time_us counts requests
    DriftingWorkloadOptions options;
    [[nodiscard]] uint64_t window_of(size_t request) const { return request / options.requests_per_window; }
    [[nodiscard]] bool drifted(uint64_t window) const { return window >= options.drift_window; }
    // A window's requests as a trace of their own (e.g. to tune on the first window).
    [[nodiscard]] Trace window_trace(uint64_t window) const;
};

DriftingWorkload generate_drifting_workload(const DriftingWorkloadOptions &options);

} // namespace aicache::replay
