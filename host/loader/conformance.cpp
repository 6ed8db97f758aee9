#include "loader/conformance.hpp"

#include "loader/learner_conformance.hpp"
#include "loader/optimizer_conformance.hpp"
#include "loader/policy_conformance.hpp"

namespace aicache::loader {

ConformanceReport run_checks(const std::shared_ptr<const PluginLibrary> &library, bool is_kind, const char *kind, std::span<const NamedCheck> checks) {
    ConformanceReport report;
    if (!is_kind) {
        report.status = Status(Errc::invalid_argument, library->facts().name + " is not " + kind);
        return report;
    }
    for (const NamedCheck &c : checks) {
        Status status = c.check(library);
        if (!status) {
            report.status = status.with_context("conformance");
            return report;
        }
        report.passed.emplace_back(c.name);
    }
    return report;
}

ConformanceReport run_conformance(const std::shared_ptr<const PluginLibrary> &library) {
    if (library->optimizer() != nullptr) return run_optimizer_conformance(library);
    if (library->learner() != nullptr) return run_learner_conformance(library);
    return run_policy_conformance(library);
}

} // namespace aicache::loader
