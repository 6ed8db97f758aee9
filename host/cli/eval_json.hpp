// The JSON form of a held-out measurement, shared by `eval` and `learner` commands.
#pragma once

#include "learning/semantic_eval.hpp"

#include <nlohmann/json.hpp>

namespace aicache::cli {

nlohmann::json operating_point_json(const learning::OperatingPoint &p);

} // namespace aicache::cli
