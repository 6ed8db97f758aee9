// The policy kind's conformance suite: what every policy plugin must do for the cache to trust it.
// `aicache plugin check` runs it in a child process before the host maps a new library, and the
// test suite runs it over every built policy.
#pragma once

#include "core/status.hpp"
#include "loader/conformance.hpp"
#include "loader/plugin_library.hpp"

#include <memory>
#include <string>
#include <vector>

namespace aicache::loader {

ConformanceReport run_policy_conformance(const std::shared_ptr<const PluginLibrary> &library);

} // namespace aicache::loader
