#include "loader/conformance.hpp"

#include "loader/learner_conformance.hpp"
#include "loader/optimizer_conformance.hpp"

namespace aicache::loader {

ConformanceReport run_conformance(const std::shared_ptr<const PluginLibrary> &library) {
    if (library->optimizer() != nullptr) return run_optimizer_conformance(library);
    if (library->learner() != nullptr) return run_learner_conformance(library);
    return run_policy_conformance(library);
}

} // namespace aicache::loader
