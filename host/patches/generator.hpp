// The simplest patch generator: fills parameters into a policy template the host owns
// (share/aicache/templates/NAME.cpp.in). A template declares its parameters in comment lines,
//   // param NAME number|integer MIN MAX DEFAULT
// and uses them as @NAME@; values are checked against type and range before anything is written,
// so what comes out is always a syntactically complete patch for the pipeline to judge.
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace aicache::patches {

struct TemplateParameter {
    std::string name;
    bool integer = false;
    double min = 0, max = 0, fallback = 0;
};

struct PatchTemplate {
    std::string name;
    std::string text;
    std::vector<TemplateParameter> parameters;

    static Expected<PatchTemplate> load(const std::filesystem::path &file);
    // `values`: NAME -> text; missing ones take their defaults. Returns the patch source.
    [[nodiscard]] Expected<std::string> instantiate(const std::map<std::string, std::string> &values) const;
};

// <bin>/../share/aicache/templates
std::filesystem::path templates_dir();

} // namespace aicache::patches
