// The demo's traffic: a stretch of the drifting workload (replay/drifting_workload.hpp) sent to
// each of several hosts over HTTP as chat completions, every host getting the same questions in
// the same order, over a few kept-alive connections each. Each question becomes a prompt the test
// upstream (server/test_upstream.hpp) answers with an answer of the question's size.
#pragma once

#include "replay/trace.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace aicache::cli {

struct DrivenFigures {
    uint64_t requests = 0, hits = 0, errors = 0;
    std::string first_error;
};

// The chat-completion body asking `question` (deterministic: the same question, the same body).
std::string question_body(const replay::Request &question);

// Sends requests [first, last) to every port; returns one figure set per port, in order.
std::vector<DrivenFigures> drive(const std::vector<replay::Request> &requests, size_t first, size_t last, const std::vector<uint16_t> &ports,
                                 unsigned connections_per_host, const std::function<void(uint64_t done, uint64_t total)> &progress);

} // namespace aicache::cli
