#include "patches/candidate.hpp"

#include "patches/generator.hpp"

#include <map>
#include <regex>

namespace aicache::patches {

Expected<jit::PatchSource> render_candidate(const nlohmann::json &candidate, const std::filesystem::path &templates) {
    const std::string id = candidate.contains("id") ? candidate["id"].dump() : "?";
    jit::PatchSource source;
    source.file_name = "candidate-" + std::regex_replace(id, std::regex("[^A-Za-z0-9_-]"), "") + ".cpp";
    if (candidate.contains("source")) {
        if (!candidate["source"].is_string()) return Status(Errc::invalid_argument, "candidate " + id + ": \"source\" is not a string");
        source.text = candidate["source"].get<std::string>();
        return source;
    }
    if (!candidate.contains("template") || !candidate["template"].is_string())
        return Status(Errc::invalid_argument, "candidate " + id + " has neither \"source\" nor a \"template\" to render");
    const std::string name = candidate["template"].get<std::string>();
    if (!std::regex_match(name, std::regex("[a-z0-9_-]{1,64}")))
        return Status(Errc::invalid_argument, "candidate " + id + ": template name \"" + name + "\" is not [a-z0-9_-]");
    auto loaded = PatchTemplate::load(templates / (name + ".cpp.in"));
    if (!loaded) return loaded.error().with_context("candidate " + id);
    std::map<std::string, std::string> values;
    if (candidate.contains("params")) {
        if (!candidate["params"].is_object()) return Status(Errc::invalid_argument, "candidate " + id + ": \"params\" is not an object");
        for (const auto &[key, value] : candidate["params"].items())
            values[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
    auto text = loaded->instantiate(values);
    if (!text) return text.error().with_context("candidate " + id);
    source.text = std::move(*text);
    return source;
}

PatchScore submit_candidate(PatchPipeline &pipeline, const nlohmann::json &candidate, const SubmitOptions &options,
                            const std::filesystem::path &templates) {
    PatchScore result;
    std::string sizes;
    for (const auto &s : options.trial.sizes) sizes += (sizes.empty() ? "" : ",") + s;
    result.split = (options.trial.trace.empty() ? std::string("generated") : options.trial.trace) + " @ " + sizes;

    auto source = render_candidate(candidate, templates);
    if (!source) {
        result.outcome = "rejected: render: " + source.error().message();
        return result;
    }
    auto patch = pipeline.submit(*source, options);
    if (!patch) {
        result.outcome = "error: " + patch.error().message();
        return result;
    }
    result.patch_id = patch->id;
    nlohmann::json report = nlohmann::json::parse(patch->report, nullptr, false);
    if (patch->state == store::PatchState::rejected || report.is_discarded() || !report.contains("trial")) {
        std::string stage = "validate";
        if (!report.is_discarded() && report.contains("trial")) {
            const auto &trial = report["trial"];
            stage = trial.value("outcome", "") != "ok" ? "trial: " + trial.value("reason", std::string())
                    : !trial.value("linked", false)   ? "link: " + trial.value("failure", std::string())
                                                      : "conformance: " + trial.value("failure", std::string());
        } else if (!report.is_discarded() && report.contains("validation")) {
            const auto &v = report["validation"];
            if (v.value("sandbox_outcome", "ok") != "ok") stage = "compile sandbox: " + v.value("sandbox_outcome", std::string());
            else if (!v["findings"].empty()) stage = "validate: " + std::to_string(v["findings"].size()) + " finding(s)";
            else stage = "compile";
        }
        result.outcome = "rejected: " + stage;
        return result;
    }
    const auto &trial = report["trial"];
    result.split = trial.value("trace", std::string("?")) + " @ " + sizes;
    double total = 0;
    size_t n = 0;
    for (const auto &c : trial["comparisons"]) {
        double gain = gain_points(c, trial.value("objective", "hits"));
        total += gain;
        ++n;
        result.per_size.push_back({{"size", c.value("size", std::string())}, {"gain_points", gain},
                                   {"hit_ratio", c.value("candidate_hit_ratio", 0.0)}, {"incumbent_hit_ratio", c.value("incumbent_hit_ratio", 0.0)}});
    }
    result.score = n ? total / double(n) : kFailedPatchScore;
    result.outcome = store::to_string(patch->state);
    return result;
}

} // namespace aicache::patches
