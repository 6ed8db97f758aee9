// What every kind's conformance suite shares: its report, the check runner, and the entry that
// picks the suite for a library's kind (policy, learner or optimizer).
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace aicache::loader {

struct ConformanceReport {
    std::vector<std::string> passed; // names of the checks that passed
    Status status;                   // the first failure, naming the check
};

using ConformanceCheck = Status (*)(const std::shared_ptr<const PluginLibrary> &);
struct NamedCheck {
    const char *name;
    ConformanceCheck check;
};

// Runs `checks` in order, stopping at the first failure. A library that is not of the suite's
// kind (`is_kind` false) is refused before any check, naming `kind`.
ConformanceReport run_checks(const std::shared_ptr<const PluginLibrary> &library, bool is_kind, const char *kind, std::span<const NamedCheck> checks);

ConformanceReport run_conformance(const std::shared_ptr<const PluginLibrary> &library);

} // namespace aicache::loader
