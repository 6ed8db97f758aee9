#include "patches/winner_choices.hpp"

#include "patches/generator.hpp"
#include "replay/replay.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>

namespace aicache::patches {
namespace {

bool is_winners(const nlohmann::json &value) { return value.is_string() && value.get<std::string>() == "winners"; }

std::string joined(const std::vector<std::string> &names) { return fmt::format("{}", fmt::join(names, "+")); }

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
    // The template is read only when a "winners" asks for it.
    std::optional<PatchTemplate> loaded;
    struct Named {
        TemplateParameter::Policies kind;
        std::vector<std::string> winners; // those of the baseline's winners the parameter can name
    };
    auto named = [&](const std::string &name) -> Expected<Named> {
        if (baseline == nullptr)
            return Status(Errc::invalid_argument, "\"winners\" names the best classical policies: it needs --baseline best-classical");
        const std::string template_name = space.value("template", "priority");
        if (!loaded) {
            auto read = PatchTemplate::load(templates / (template_name + ".cpp.in"));
            if (!read) return read.error();
            loaded = std::move(*read);
        }
        const auto p = std::find_if(loaded->parameters.begin(), loaded->parameters.end(), [&](const TemplateParameter &q) {
            return q.name == name && q.policy_kind != TemplateParameter::Policies::none;
        });
        if (p == loaded->parameters.end())
            return Status(Errc::invalid_argument, "\"winners\" stands for policies, and " + name + " is not a policy parameter of template " +
                                                      template_name + " (`aicache patch templates` lists them)");
        Named out{p->policy_kind, {}};
        for (const auto &winner : baseline_winners(*baseline)) // a policy plugin the template does not know is left out
            if (std::find(p->policies.begin(), p->policies.end(), winner) != p->policies.end()) out.winners.push_back(winner);
        if (out.winners.empty()) return Status(Errc::invalid_argument, "none of the best classical policies is one that " + name + " can name");
        return out;
    };

    if (space.contains("choices") && space["choices"].is_object())
        for (auto &[name, values] : space["choices"].items()) {
            if (!values.is_array() || std::none_of(values.begin(), values.end(), is_winners)) continue;
            auto p = named(name);
            if (!p) return p.error();
            nlohmann::json resolved = nlohmann::json::array();
            auto add = [&](const nlohmann::json &value) {
                if (std::find(resolved.begin(), resolved.end(), value) == resolved.end()) resolved.push_back(value);
            };
            for (const auto &value : values) {
                if (!is_winners(value)) {
                    add(value);
                    continue;
                }
                if (p->kind == TemplateParameter::Policies::mask) add(joined(p->winners));
                for (const auto &winner : p->winners) add(winner); // a one-policy mask is its name: add() keeps it once
            }
            values = std::move(resolved);
        }
    if (space.contains("fixed") && space["fixed"].is_object())
        for (auto &[name, value] : space["fixed"].items()) {
            if (!is_winners(value)) continue;
            auto p = named(name);
            if (!p) return p.error();
            value = p->kind == TemplateParameter::Policies::mask ? joined(p->winners) : p->winners.front();
        }
    return space;
}

} // namespace aicache::patches
