// The learner kind's conformance suite: a working default from "{}", an "info" answer naming the
// ops it serves, training on labelled pairs within its budget, well-formed embeddings (unit rows)
// and match scores (in [0, 1]), checkpoints that restore the same answers, and clear refusals of
// malformed requests, unknown ops, bad examples and garbage state.
#pragma once

#include "loader/plugin_library.hpp"
#include "loader/conformance.hpp"

#include <memory>

namespace aicache::loader {

ConformanceReport run_learner_conformance(const std::shared_ptr<const PluginLibrary> &library);

} // namespace aicache::loader
