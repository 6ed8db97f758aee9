// The simplest patch generator: fills parameters into a policy template the host owns
// (share/aicache/templates/NAME.cpp.in). A template declares its parameters in comment lines,
//   // param NAME number|integer MIN MAX DEFAULT
//   // param NAME expression DEFAULT IDENTIFIER...
//   // param NAME policies DEFAULT POLICY...   (a bit mask: bit i is the i-th policy)
//   // param NAME policy DEFAULT POLICY...     (an index: k is the k-th policy, 0 none of them)
// and uses them as @NAME@; values are checked against type and range before anything is written.
// An expression may use only numbers, + - * ( ) , and the identifiers its line lists (the features
// and helper functions the template defines), with balanced parentheses, so a value can never
// close the function it is pasted into: what comes out is a complete patch for the pipeline to judge.
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
    // An expression parameter: the identifiers it may use, and its default text.
    bool expression = false;
    std::vector<std::string> identifiers;
    std::string default_expression;
    // A policy parameter (an integer): the classical policies its values name, so a value may be
    // given by name as well: "arc+lirs" for a mask, "wtinylfu" for an index.
    enum class Policies { none, mask, index } policy_kind = Policies::none;
    std::vector<std::string> policies;
};

// The number a value of a number, integer or policy parameter stands for: a number as written,
// or for a policy parameter names ("arc+lirs").
Expected<double> parameter_value(const TemplateParameter &parameter, const std::string &text);

// Why `text` is not an expression over `identifiers` (see above), or empty when it is one.
std::string expression_problem(const std::string &text, const std::vector<std::string> &identifiers);

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
