// The conformance suite for a library's kind (policy, learner or optimizer).
#pragma once

#include "loader/policy_conformance.hpp"

namespace aicache::loader {

ConformanceReport run_conformance(const std::shared_ptr<const PluginLibrary> &library);

} // namespace aicache::loader
