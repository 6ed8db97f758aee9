#include "loader/optimizer_conformance.hpp"

#include "loader/optimizer_instance.hpp"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

namespace aicache::loader {
namespace {

using Library = std::shared_ptr<const PluginLibrary>;

Status fail(const std::string &check, const std::string &why) { return Status(Errc::plugin, check + ": " + why); }

Expected<OptimizerInstance> fresh(const std::string &check, const Library &library) {
    auto made = OptimizerInstance::create(library, "{}");
    if (!made) return made.error().with_context(check + ": the default search space \"{}\"");
    return made;
}

std::string id_of(const std::string &candidate) { return nlohmann::json::parse(candidate)["id"].dump(); }

Expected<std::vector<std::string>> ask_many(const std::string &check, OptimizerInstance &optimizer, int n) {
    std::vector<std::string> asked;
    for (int i = 0; i < n; ++i) {
        auto candidate = optimizer.ask();
        if (!candidate) return candidate.error().with_context(check);
        asked.push_back(std::move(*candidate));
    }
    return asked;
}

Status asks_candidates(const Library &library) {
    const std::string check = "asks_candidates";
    auto optimizer = fresh(check, library);
    if (!optimizer) return optimizer.error();
    auto asked = ask_many(check, *optimizer, 8);
    if (!asked) return asked.error();
    std::set<std::string> ids;
    for (const auto &text : *asked) {
        nlohmann::json candidate = nlohmann::json::parse(text);
        bool has_params = candidate.contains("params") && candidate["params"].is_object();
        bool has_source = candidate.contains("source") && candidate["source"].is_string();
        if (!has_params && !has_source) return fail(check, "candidate " + text.substr(0, 200) + " has neither \"params\" nor \"source\"");
        if (!ids.insert(candidate["id"].dump()).second) return fail(check, "two candidates share the id " + candidate["id"].dump());
    }
    return Status::ok();
}

Status tells_and_reports_best(const Library &library) {
    const std::string check = "tells_and_reports_best";
    auto optimizer = fresh(check, library);
    if (!optimizer) return optimizer.error();
    if (auto early = optimizer->best(); early || early.error().code() != Errc::not_found)
        return fail(check, "on_best before any tell must return AICACHE_ERR_NOT_FOUND");
    auto asked = ask_many(check, *optimizer, 6);
    if (!asked) return asked.error();
    // The highest score goes to a candidate in the middle, so "first" or "last" cannot pass.
    const double scores[] = {0.1, 0.4, 0.9, 0.3, 0.2, 0.5};
    for (size_t i = 0; i < asked->size(); ++i)
        if (Status told = optimizer->tell((*asked)[i], scores[i]); !told) return told.with_context(check);
    auto best = optimizer->best();
    if (!best) return best.error().with_context(check);
    if (id_of(*best) != id_of((*asked)[2]))
        return fail(check, "on_best names id " + id_of(*best) + ", but the best told score went to id " + id_of((*asked)[2]));
    return Status::ok();
}

Status refuses_foreign_candidates(const Library &library) {
    const std::string check = "refuses_foreign_candidates";
    auto optimizer = fresh(check, library);
    if (!optimizer) return optimizer.error();
    for (std::string_view foreign : {std::string_view("not json at all"), std::string_view("{\"id\":\"never-asked-4242\"}")}) {
        if (optimizer->tell(foreign, 1.0)) return fail(check, "on_tell accepted " + std::string(foreign) + ", a candidate it never asked for");
        take_plugin_error();
    }
    auto after = optimizer->ask(); // still usable
    return after ? Status::ok() : after.error().with_context(check + ": after refusing");
}

Status state_resumes_search(const Library &library) {
    const std::string check = "state_resumes_search";
    auto original = fresh(check, library);
    if (!original) return original.error();
    auto asked = ask_many(check, *original, 5);
    if (!asked) return asked.error();
    for (size_t i = 0; i + 1 < asked->size(); ++i) // the last one stays outstanding across the restart
        if (Status told = original->tell((*asked)[i], double(i % 3)); !told) return told.with_context(check);
    auto state = original->save_state();
    if (!state) return state.error().with_context(check);

    auto resumed = fresh(check, library);
    if (!resumed) return resumed.error();
    if (Status loaded = resumed->load_state(*state); !loaded) return loaded.with_context(check);
    if (Status told = resumed->tell(asked->back(), 2.5); !told)
        return told.with_context(check + ": the candidate outstanding when the state was saved");
    if (Status told = original->tell(asked->back(), 2.5); !told) return told.with_context(check);
    auto next_original = original->ask();
    auto next_resumed = resumed->ask();
    if (!next_original || !next_resumed) return (!next_original ? next_original.error() : next_resumed.error()).with_context(check);
    if (*next_original != *next_resumed)
        return fail(check, "after load_state the next candidate differs from the one the saved instance asks:\n  " +
                               next_original->substr(0, 200) + "\n  " + next_resumed->substr(0, 200));
    auto best_original = original->best();
    auto best_resumed = resumed->best();
    if (!best_original || !best_resumed || id_of(*best_original) != id_of(*best_resumed))
        return fail(check, "after load_state on_best differs from the saved instance's");
    return Status::ok();
}

Status refuses_garbage_state(const Library &library) {
    const std::string check = "refuses_garbage_state";
    auto optimizer = fresh(check, library);
    if (!optimizer) return optimizer.error();
    const std::string garbage = "\x07garbage that is no optimizer's state";
    if (optimizer->load_state(garbage)) return fail(check, "on_load_state accepted garbage");
    take_plugin_error();
    auto after = optimizer->ask();
    return after ? Status::ok() : after.error().with_context(check + ": the instance is unusable after refusing a state");
}

Status refuses_malformed_space(const Library &library) {
    const std::string check = "refuses_malformed_space";
    auto made = OptimizerInstance::create(library, "{\"unterminated\": [1, 2");
    if (made) return fail(check, "on_create accepted a malformed search space");
    take_plugin_error();
    return Status::ok();
}

} // namespace

ConformanceReport run_optimizer_conformance(const Library &library) {
    static const NamedCheck checks[] = {
        {"asks_candidates", &asks_candidates},           {"tells_and_reports_best", &tells_and_reports_best},
        {"refuses_foreign_candidates", &refuses_foreign_candidates}, {"state_resumes_search", &state_resumes_search},
        {"refuses_garbage_state", &refuses_garbage_state}, {"refuses_malformed_space", &refuses_malformed_space},
    };
    return run_checks(library, library->optimizer() != nullptr, "an optimizer", checks);
}

} // namespace aicache::loader
