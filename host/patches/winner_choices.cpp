#include "patches/winner_choices.hpp"

#include "patches/generator.hpp"
#include "replay/replay.hpp"

#include <algorithm>
#include <numeric>

namespace aicache::patches {
namespace {

constexpr const char *kWinners = "winners";

bool is_winners(const nlohmann::json &value) { return value.is_string() && value.get<std::string>() == kWinners; }

std::string joined(const std::vector<std::string> &names) {
    std::string out;
    for (const auto &name : names) out += (out.empty() ? "" : "+") + name;
    return out;
}

} // namespace

std::vector<std::string> baseline_winners(const ClassicalBaseline &baseline) {
    // Sizes are compared as shares of one large footprint, so "25%" and "64MiB" both order.
    std::vector<size_t> order(baseline.sizes.size());
    std::iota(order.begin(), order.end(), 0);
    auto bytes = [&](size_t s) {
        auto parsed = replay::parse_capacity(baseline.sizes[s], uint64_t(1) << 50);
        return parsed ? *parsed : 0;
    };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return bytes(a) > bytes(b); });
    std::vector<std::string> winners;
    for (size_t s : order)
        for (size_t t = 0; t < baseline.traces.size(); ++t)
            if (const std::string &policy = baseline.at(t, s).policy; std::find(winners.begin(), winners.end(), policy) == winners.end())
                winners.push_back(policy);
    return winners;
}

Expected<nlohmann::json> resolve_winners(nlohmann::json space, const std::filesystem::path &templates, const ClassicalBaseline *baseline) {
    auto mentions_winners = [](const nlohmann::json &object, bool lists) {
        if (!object.is_object()) return false;
        for (const auto &[name, value] : object.items())
            if (lists ? value.is_array() && std::any_of(value.begin(), value.end(), is_winners) : is_winners(value)) return true;
        return false;
    };
    const bool in_choices = space.contains("choices") && mentions_winners(space["choices"], true);
    const bool in_fixed = space.contains("fixed") && mentions_winners(space["fixed"], false);
    if (!in_choices && !in_fixed) return space;
    if (baseline == nullptr)
        return Status(Errc::invalid_argument, "\"winners\" names the best classical policies: it needs --baseline best-classical");

    const std::string template_name = space.value("template", "priority");
    auto loaded = PatchTemplate::load(templates / (template_name + ".cpp.in"));
    if (!loaded) return loaded.error();
    auto parameter = [&](const std::string &name) -> Expected<const TemplateParameter *> {
        for (const TemplateParameter &p : loaded->parameters)
            if (p.name == name && p.policy_kind != TemplateParameter::Policies::none) return &p;
        return Status(Errc::invalid_argument, "\"winners\" stands for policies, and " + name + " is not a policy parameter of template " +
                                                  template_name + " (`aicache patch templates` lists them)");
    };
    // The winners this parameter can name (a policy plugin the template does not know is left out).
    auto nameable = [&](const TemplateParameter &p) -> Expected<std::vector<std::string>> {
        std::vector<std::string> names;
        for (const auto &winner : baseline_winners(*baseline))
            if (std::find(p.policies.begin(), p.policies.end(), winner) != p.policies.end()) names.push_back(winner);
        if (names.empty()) return Status(Errc::invalid_argument, "none of the best classical policies is one that " + p.name + " can name");
        return names;
    };

    if (in_choices)
        for (auto &[name, values] : space["choices"].items()) {
            if (!values.is_array() || std::none_of(values.begin(), values.end(), is_winners)) continue;
            auto p = parameter(name);
            if (!p) return p.error();
            auto winners = nameable(**p);
            if (!winners) return winners.error();
            nlohmann::json resolved = nlohmann::json::array();
            auto add = [&](const nlohmann::json &value) {
                if (std::find(resolved.begin(), resolved.end(), value) == resolved.end()) resolved.push_back(value);
            };
            for (const auto &value : values) {
                if (!is_winners(value)) add(value);
                else if ((*p)->policy_kind == TemplateParameter::Policies::mask) {
                    add(joined(*winners));
                    if (winners->size() > 1)
                        for (const auto &winner : *winners) add(winner);
                } else {
                    for (const auto &winner : *winners) add(winner);
                }
            }
            values = std::move(resolved);
        }
    if (in_fixed)
        for (auto &[name, value] : space["fixed"].items()) {
            if (!is_winners(value)) continue;
            auto p = parameter(name);
            if (!p) return p.error();
            auto winners = nameable(**p);
            if (!winners) return winners.error();
            value = (*p)->policy_kind == TemplateParameter::Policies::mask ? joined(*winners) : winners->front();
        }
    return space;
}

} // namespace aicache::patches
