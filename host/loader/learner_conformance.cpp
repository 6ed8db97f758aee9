#include "loader/learner_conformance.hpp"

#include "loader/learner_instance.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <set>

namespace aicache::loader {
namespace {

using Library = std::shared_ptr<const PluginLibrary>;

Status fail(const std::string &check, const std::string &why) { return Status(Errc::plugin, check + ": " + why); }

Expected<LearnerInstance> fresh(const std::string &check, const Library &library) {
    auto made = LearnerInstance::create(library, "{}");
    if (!made) return made.error().with_context(check + ": the default configuration \"{}\"");
    return made;
}

Expected<std::set<std::string>> ops_of(const std::string &check, LearnerInstance &learner) {
    auto info = learner.infer(R"({"op":"info"})");
    if (!info) return info.error().with_context(check);
    nlohmann::json parsed = nlohmann::json::parse(*info, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("kind") || !parsed.contains("ops") || !parsed["ops"].is_array())
        return fail(check, "info must answer a JSON object with \"kind\" and an \"ops\" array, got " + info->substr(0, 200));
    std::set<std::string> ops;
    for (const auto &op : parsed["ops"]) ops.insert(op.get<std::string>());
    return ops;
}

// Pairs with a visible pattern: a question and the same words reordered are paraphrases; two
// questions about different subjects are not.
const std::vector<std::string> kSubjects = {"sort a list in python", "reverse a string in java", "open a file in c",
                                            "center a div in css", "merge two branches in git", "parse json in go",
                                            "read a csv in r", "install a package in rust"};

Status teach(const std::string &check, LearnerInstance &learner) {
    for (size_t i = 0; i < kSubjects.size(); ++i) {
        const std::string &s = kSubjects[i];
        if (Status st = learner.observe_pair("how do i " + s, "what is the way to " + s, 1); !st) return st.with_context(check);
        if (Status st = learner.observe_pair("how do i " + s, "how do i " + kSubjects[(i + 1) % kSubjects.size()], 0); !st)
            return st.with_context(check);
    }
    return Status::ok();
}

Status answers_info(const Library &library) {
    const std::string check = "answers_info";
    auto learner = fresh(check, library);
    if (!learner) return learner.error();
    auto ops = ops_of(check, *learner);
    return ops ? Status::ok() : ops.error();
}

Status trains_within_budget(const Library &library) {
    const std::string check = "trains_within_budget";
    auto learner = fresh(check, library);
    if (!learner) return learner.error();
    if (Status taught = teach(check, *learner); !taught) return taught;
    auto started = std::chrono::steady_clock::now();
    auto metrics = learner->train(300);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!metrics) return metrics.error().with_context(check);
    nlohmann::json parsed = nlohmann::json::parse(*metrics, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return fail(check, "on_train must write a JSON object of metrics, got " + metrics->substr(0, 200));
    // Generous: a loaded 2-core machine; the point is that the budget bounds the work.
    if (seconds > 0.3 + 5.0) return fail(check, "train(300 ms) took " + std::to_string(seconds) + " s");
    return Status::ok();
}

Status answers_are_well_formed(const Library &library) {
    const std::string check = "answers_are_well_formed";
    auto learner = fresh(check, library);
    if (!learner) return learner.error();
    auto ops = ops_of(check, *learner);
    if (!ops) return ops.error();
    if (ops->count("embed")) {
        size_t dim = 0;
        auto rows = learner->embed({"how do i sort a list", "", "\xc3\xa9t\xc3\xa9 \xe2\x9c\x93 unicode"}, dim);
        if (!rows) return rows.error().with_context(check);
        if (dim == 0) return fail(check, "embed gave zero-length embeddings");
        for (size_t r = 0; r < 3; ++r) {
            double norm = 0;
            for (size_t i = 0; i < dim; ++i) norm += double((*rows)[r * dim + i]) * (*rows)[r * dim + i];
            if (std::fabs(std::sqrt(norm) - 1) > 1e-3 && norm != 0)
                return fail(check, "embedding " + std::to_string(r) + " has norm " + std::to_string(std::sqrt(norm)) + ", not 1");
        }
    }
    if (ops->count("match")) {
        auto scores = learner->match({{"how do i sort a list", "how to sort a list"}, {"a", "completely different"}});
        if (!scores) return scores.error().with_context(check);
        for (float s : *scores)
            if (!(s >= 0 && s <= 1)) return fail(check, "match score " + std::to_string(s) + " is outside [0, 1]");
    }
    return Status::ok();
}

Status checkpoints_restore_answers(const Library &library) {
    const std::string check = "checkpoints_restore_answers";
    auto trained = fresh(check, library);
    if (!trained) return trained.error();
    if (Status taught = teach(check, *trained); !taught) return taught;
    if (auto m = trained->train(200); !m) return m.error().with_context(check);
    auto state = trained->save_state();
    if (!state) return state.error().with_context(check);
    auto restored = fresh(check, library);
    if (!restored) return restored.error();
    if (Status loaded = restored->load_state(*state); !loaded) return loaded.with_context(check);
    auto ops = ops_of(check, *trained);
    if (!ops) return ops.error();
    std::vector<std::string> requests = {R"({"op":"info"})"};
    if (ops->count("embed")) requests.push_back(R"({"op":"embed","texts":["how do i sort a list in python","open a file"]})");
    if (ops->count("match")) requests.push_back(R"({"op":"match","pairs":[["how do i sort a list","sorting a list"]]})");
    for (const auto &request : requests) {
        auto a = trained->infer(request);
        auto b = restored->infer(request);
        if (!a || !b) return (!a ? a.error() : b.error()).with_context(check);
        if (*a != *b) return fail(check, "after load_state, " + request + " answers differently");
    }
    return Status::ok();
}

Status refuses_bad_input(const Library &library) {
    const std::string check = "refuses_bad_input";
    auto learner = fresh(check, library);
    if (!learner) return learner.error();
    for (std::string_view request : {std::string_view("not json"), std::string_view(R"({"op":"no-such-op"})"), std::string_view("[1,2]")}) {
        if (learner->infer(request)) return fail(check, "on_infer accepted " + std::string(request));
        take_plugin_error();
    }
    aicache_example odd{};
    odd.struct_size = sizeof odd;
    odd.type = 999;
    if (learner->observe(odd)) return fail(check, "on_observe accepted an example of unknown type 999");
    take_plugin_error();
    const std::string garbage = "\x07garbage that is no learner's checkpoint";
    if (learner->load_state(garbage)) return fail(check, "on_load_state accepted garbage");
    take_plugin_error();
    auto after = ops_of(check + ": after refusing", *learner);
    return after ? Status::ok() : after.error();
}

} // namespace

ConformanceReport run_learner_conformance(const Library &library) {
    static const NamedCheck checks[] = {
        {"answers_info", &answers_info},
        {"trains_within_budget", &trains_within_budget},
        {"answers_are_well_formed", &answers_are_well_formed},
        {"checkpoints_restore_answers", &checkpoints_restore_answers},
        {"refuses_bad_input", &refuses_bad_input},
    };
    return run_checks(library, library->learner() != nullptr, "a learner", checks);
}

} // namespace aicache::loader
