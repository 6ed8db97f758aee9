// "winners" in a search space: the classical policies that are best somewhere in the baseline.
// Which classical experts a per-trace portfolio needs, and which should lead first, follow from
// the table a best-classical search measures before its first trial; writing them by hand meant
// reading that table and translating names to a template's bit numbers for every trace.
//
//   "choices": {"classical": ["winners", "lru+lirs"], "first": ["winners"]}
//
// For a template parameter that names policies (`// param NAME policies|policy ...`), "winners"
// becomes: in a mask, all the winners together ("arc+wtinylfu+lirs"), then each alone (a
// portfolio needs no expert for a size its evolved policy already wins, and every extra expert is
// one more to change hands with); in an index, one choice per winner. Either way the one that
// wins at the largest size comes first. Among `fixed` values, a mask takes all the winners
// together and an index only the largest size's winner. The search's seeds take every choice's
// first value, so they start from the largest size's winner leading: where refilling after a
// change of leader costs most.
#pragma once

#include "core/status.hpp"
#include "patches/classical_baseline.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace aicache::patches {

// The baseline's best policies, each once: the largest size's first, and at one size in the order
// of the traces.
std::vector<std::string> baseline_winners(const ClassicalBaseline &baseline);

// `space` with every "winners" of a policy parameter replaced as above. Without a baseline (a
// search that is not --baseline best-classical), any "winners" is an error that says so.
Expected<nlohmann::json> resolve_winners(nlohmann::json space, const std::filesystem::path &templates, const ClassicalBaseline *baseline);

} // namespace aicache::patches
