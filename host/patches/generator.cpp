#include "patches/generator.hpp"

#include "core/files.hpp"
#include "loader/qualify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace aicache::patches {

std::filesystem::path templates_dir() {
    return loader::current_executable().parent_path().parent_path() / "share" / "aicache" / "templates";
}

std::string expression_problem(const std::string &text, const std::vector<std::string> &identifiers) {
    constexpr size_t kMaxLength = 4096;
    if (text.empty()) return "empty expression";
    if (text.size() > kMaxLength) return "longer than " + std::to_string(kMaxLength) + " characters";
    const std::set<std::string> allowed(identifiers.begin(), identifiers.end());
    auto is_alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    int depth = 0;
    for (size_t i = 0; i < text.size();) {
        char c = text[i];
        if (is_alpha(c)) {
            size_t end = i;
            while (end < text.size() && (is_alpha(text[end]) || is_digit(text[end]))) ++end;
            std::string id = text.substr(i, end - i);
            if (!allowed.count(id)) return "\"" + id + "\" at offset " + std::to_string(i) + " is not one of its identifiers";
            i = end;
        } else if (is_digit(c) || c == '.') {
            // A decimal number with an optional exponent; nothing may follow it directly.
            size_t end = i;
            while (end < text.size() && (is_digit(text[end]) || text[end] == '.')) ++end;
            if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
                ++end;
                if (end < text.size() && (text[end] == '+' || text[end] == '-')) ++end;
                if (end >= text.size() || !is_digit(text[end])) return "malformed number at offset " + std::to_string(i);
                while (end < text.size() && is_digit(text[end])) ++end;
            }
            if (end < text.size() && (is_alpha(text[end]) || text[end] == '.')) return "malformed number at offset " + std::to_string(i);
            i = end;
        } else if (c == '(') {
            ++depth, ++i;
        } else if (c == ')') {
            if (--depth < 0) return "unbalanced ')' at offset " + std::to_string(i);
            ++i;
        } else if (c == '+' || c == '-' || c == '*' || c == ',' || c == ' ') {
            ++i;
        } else {
            return std::string("character '") + c + "' at offset " + std::to_string(i) + " is not allowed (numbers, + - * ( ) , and identifiers)";
        }
    }
    if (depth != 0) return "unbalanced '('";
    return {};
}

Expected<double> parameter_value(const TemplateParameter &parameter, const std::string &text) {
    char *end = nullptr;
    const double number = std::strtod(text.c_str(), &end);
    if (!text.empty() && *end == '\0' && std::isfinite(number)) return number;
    if (parameter.policy_kind == TemplateParameter::Policies::none)
        return Status(Errc::invalid_argument, parameter.name + "=" + text + " is not a number");
    auto known = [&] { return fmt::format("{}", fmt::join(parameter.policies, ", ")); };
    double value = 0;
    std::istringstream names(text);
    size_t count = 0;
    for (std::string policy; std::getline(names, policy, '+'); ++count) {
        const auto at = std::find(parameter.policies.begin(), parameter.policies.end(), policy);
        if (at == parameter.policies.end())
            return Status(Errc::invalid_argument, parameter.name + "=" + text + ": no policy \"" + policy + "\" (known: " + known() + ")");
        const auto index = static_cast<unsigned>(at - parameter.policies.begin());
        if (parameter.policy_kind == TemplateParameter::Policies::index) value = index + 1;
        else value = double(static_cast<unsigned>(value) | (1u << index));
    }
    if (count == 0 || (parameter.policy_kind == TemplateParameter::Policies::index && count > 1))
        return Status(Errc::invalid_argument, parameter.name + "=" + text + ": name " +
                                                  (parameter.policy_kind == TemplateParameter::Policies::index ? "one policy" : "policies joined by +") +
                                                  " (known: " + known() + ")");
    return value;
}

Expected<PatchTemplate> PatchTemplate::load(const std::filesystem::path &file) {
    auto text = read_file(file);
    if (!text) return text.error();
    PatchTemplate t;
    t.name = file.filename().string();
    if (auto dot = t.name.find('.'); dot != std::string::npos) t.name.resize(dot);
    t.text = *text;
    std::istringstream lines(*text);
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        if (line.rfind("// param ", 0) != 0) continue;
        std::istringstream fields(line.substr(9));
        TemplateParameter p;
        std::string type;
        auto where = [&] { return file.string() + ":" + std::to_string(number) + ": "; };
        fields >> p.name >> type; // the type says how the rest of the line reads
        if (type == "expression") {
            fields >> p.default_expression;
            for (std::string id; fields >> id;) p.identifiers.push_back(id);
            p.expression = true;
            if (p.identifiers.empty())
                return Status(Errc::invalid_argument, where() + "expected `// param NAME expression DEFAULT IDENTIFIER...`");
            if (std::string problem = expression_problem(p.default_expression, p.identifiers); !problem.empty())
                return Status(Errc::invalid_argument, where() + "default of " + p.name + ": " + problem);
            t.parameters.push_back(p);
            continue;
        }
        if (type == "policies" || type == "policy") {
            fields >> p.fallback;
            for (std::string policy; fields >> policy;) p.policies.push_back(policy);
            if (p.policies.empty() || p.policies.size() > 31)
                return Status(Errc::invalid_argument, where() + "expected `// param NAME policies|policy DEFAULT POLICY...` (1 to 31 policies)");
            p.integer = true;
            p.policy_kind = type == "policies" ? TemplateParameter::Policies::mask : TemplateParameter::Policies::index;
            p.min = 0;
            p.max = type == "policies" ? double((1u << p.policies.size()) - 1) : double(p.policies.size());
            if (p.fallback < p.min || p.fallback > p.max || p.fallback != std::floor(p.fallback))
                return Status(Errc::invalid_argument, where() + "default of " + p.name + " out of range");
            t.parameters.push_back(p);
            continue;
        }
        if (!(fields >> p.min >> p.max >> p.fallback) || (type != "number" && type != "integer") || p.min > p.max || p.fallback < p.min ||
            p.fallback > p.max)
            return Status(Errc::invalid_argument, where() + "expected `// param NAME number|integer MIN MAX DEFAULT`");
        p.integer = type == "integer";
        t.parameters.push_back(p);
    }
    return t;
}

Expected<std::string> PatchTemplate::instantiate(const std::map<std::string, std::string> &values) const {
    std::set<std::string> known;
    std::string out = text;
    std::string summary;
    auto replace_all = [&](const std::string &from, const std::string &to) {
        for (size_t at = 0; (at = out.find(from, at)) != std::string::npos; at += to.size()) out.replace(at, from.size(), to);
    };
    for (const TemplateParameter &p : parameters) {
        known.insert(p.name);
        if (p.expression) {
            auto it = values.find(p.name);
            const std::string &expression = it != values.end() ? it->second : p.default_expression;
            if (std::string problem = expression_problem(expression, p.identifiers); !problem.empty())
                return Status(Errc::invalid_argument, name + ": " + p.name + ": " + problem);
            replace_all("@" + p.name + "@", expression);
            summary += (summary.empty() ? "" : ", ") + p.name + "=" + expression;
            continue;
        }
        double value = p.fallback;
        if (auto it = values.find(p.name); it != values.end()) {
            auto given = parameter_value(p, it->second);
            if (!given) return given.error().with_context(name);
            value = *given;
        }
        if (p.integer && value != std::floor(value)) return Status(Errc::invalid_argument, name + ": " + p.name + " must be an integer");
        if (value < p.min || value > p.max)
        {
            char range[96];
            std::snprintf(range, sizeof range, "[%g, %g]", p.min, p.max);
            return Status(Errc::invalid_argument, name + ": " + p.name + " must lie in " + range);
        }
        char rendered[64];
        if (p.integer) std::snprintf(rendered, sizeof rendered, "%lld", static_cast<long long>(value));
        else std::snprintf(rendered, sizeof rendered, "%.17g", value);
        // A double literal must look like one, or `0` would be an integer constant.
        std::string literal = rendered;
        if (!p.integer && literal.find_first_of(".e") == std::string::npos) literal += ".0";
        replace_all("@" + p.name + "@", literal);
        summary += (summary.empty() ? "" : ", ") + p.name + "=" + literal;
    }
    for (const auto &[key, value] : values)
        if (!known.count(key)) return Status(Errc::invalid_argument, name + " has no parameter " + key);
    replace_all("@version@", "0.0.0-generated");
    return "// Generated by `aicache patch generate " + name + "` (" + summary + ").\n" + out;
}

} // namespace aicache::patches
