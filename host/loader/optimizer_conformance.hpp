// The optimizer kind's conformance suite: what the host relies on when it drives a search.
// Every optimizer must accept "{}" as its default search space, ask well-formed candidates with
// distinct ids, refuse candidates it never asked for, report the best told candidate, and resume
// exactly from a saved state (a search survives a restart of the host).
#pragma once

#include "loader/plugin_library.hpp"
#include "loader/conformance.hpp"

#include <memory>

namespace aicache::loader {

ConformanceReport run_optimizer_conformance(const std::shared_ptr<const PluginLibrary> &library);

} // namespace aicache::loader
