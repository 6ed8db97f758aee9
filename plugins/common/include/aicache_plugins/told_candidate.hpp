// What every ask/tell optimizer checks when a score is told: the candidate is a JSON object with
// the integer id it was asked with, that id is still pending, and the score is a number. Returns
// the pending entry (the caller takes it out); throws invalid_argument naming the optimizer.
#pragma once

#include <aicache/sdk/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace aicache_plugins {

template <class PendingMap>
typename PendingMap::iterator told_candidate(PendingMap &pending, std::string_view candidate_text, double score, const std::string &optimizer) {
    using aicache::sdk::invalid_argument;
    nlohmann::json told = nlohmann::json::parse(candidate_text, nullptr, false);
    if (told.is_discarded() || !told.is_object() || !told.contains("id") || !told["id"].is_number_unsigned())
        throw invalid_argument(optimizer + ": a told candidate must be a JSON object with the integer id it was asked with");
    const uint64_t id = told["id"].get<uint64_t>();
    auto it = pending.find(id);
    if (it == pending.end()) throw invalid_argument(optimizer + ": candidate " + std::to_string(id) + " was never asked for, or was told already");
    if (!std::isfinite(score)) throw invalid_argument(optimizer + ": score must be finite");
    return it;
}

} // namespace aicache_plugins
