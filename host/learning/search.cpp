#include "learning/search.hpp"

#include <chrono>
#include <map>

namespace aicache::learning {

std::string candidate_key(const nlohmann::json &candidate) {
    nlohmann::json copy = candidate;
    copy.erase("id");
    return copy.dump(); // nlohmann orders object keys, so equal candidates give equal text
}

bool ranks_above(const store::TrialRecord &a, const store::TrialRecord &b, const TieBreak &tie_break) {
    if (a.score != b.score) return a.score > b.score;
    return tie_break && tie_break(a) > tie_break(b);
}

namespace {

Expected<store::SearchRecord> open_search(store::SearchRecords &records, const loader::PluginLibrary &library,
                                          const SearchOptions &options, bool &existed) {
    const loader::PluginFacts &facts = library.facts();
    auto found = records.find(options.name);
    if (!found) return found.error();
    existed = found->has_value();
    if (!existed) {
        store::SearchRecord fresh;
        fresh.name = options.name;
        fresh.optimizer = facts.name;
        fresh.optimizer_version = facts.version;
        fresh.optimizer_sha256 = facts.content_hash;
        fresh.space = options.space.value_or("{}");
        fresh.evaluation = options.evaluation.dump();
        fresh.state_format = facts.state_format;
        return records.create(fresh);
    }
    store::SearchRecord search = **found;
    const std::string what = "search \"" + options.name + "\"";
    if (search.optimizer != facts.name)
        return Status(Errc::invalid_argument, what + " was run by optimizer " + search.optimizer + ", not " + facts.name +
                                                  ": name a new search with --search");
    if (options.space && nlohmann::json::parse(*options.space, nullptr, false) != nlohmann::json::parse(search.space, nullptr, false))
        return Status(Errc::invalid_argument, what + " searches another space (" + search.space +
                                                  "): resume it without --space, or name a new search");
    if (nlohmann::json::parse(search.evaluation, nullptr, false) != options.evaluation)
        return Status(Errc::invalid_argument, what + " measured its candidates as " + search.evaluation + ", not as " +
                                                  options.evaluation.dump() + ": its scores would not compare; name a new search");
    if (!search.state.empty() && search.state_format != facts.state_format)
        return Status(Errc::invalid_argument, what + " saved its state as \"" + search.state_format + "\", which " + facts.name + " " +
                                                  facts.version + " does not read (\"" + facts.state_format + "\")");
    return search;
}

} // namespace

Expected<SearchSummary> run_search(store::Database &db, const std::shared_ptr<const loader::PluginLibrary> &optimizer,
                                   const SearchOptions &options, const Evaluator &evaluate) {
    store::SearchRecords records(db);
    bool existed = false;
    auto opened = open_search(records, *optimizer, options, existed);
    if (!opened) return opened.error();
    SearchSummary summary;
    summary.search = *opened;

    auto instance = loader::OptimizerInstance::create(optimizer, summary.search.space);
    if (!instance) return instance.error().with_context("search \"" + options.name + "\"");
    if (!summary.search.state.empty())
        if (Status loaded = instance->load_state(summary.search.state); !loaded)
            return loaded.with_context("search \"" + options.name + "\": resuming from its saved state");

    auto earlier = records.trials(summary.search.id);
    if (!earlier) return earlier.error();
    summary.trials = std::move(*earlier);
    summary.resumed_from = summary.trials.size();
    std::map<std::string, size_t> measured; // candidate key -> index of its first trial
    auto remember = [&](size_t index) {
        auto parsed = nlohmann::json::parse(summary.trials[index].candidate, nullptr, false);
        if (!parsed.is_discarded()) measured.emplace(candidate_key(parsed), index);
    };
    for (size_t i = 0; i < summary.trials.size(); ++i) remember(i);

    while (summary.trials.size() < options.trials) {
        if (options.stop_early && options.stop_early()) break;
        auto asked = instance->ask();
        if (!asked) return asked.error().with_context("search \"" + options.name + "\"");
        nlohmann::json candidate = nlohmann::json::parse(*asked);
        auto started = std::chrono::steady_clock::now();

        store::TrialRecord trial;
        trial.search_id = summary.search.id;
        trial.number = static_cast<int64_t>(summary.trials.size()) + 1;
        trial.candidate = *asked;
        if (auto seen = measured.find(candidate_key(candidate)); seen != measured.end()) {
            const store::TrialRecord first = summary.trials[seen->second];
            trial.outcome = "repeat of #" + std::to_string(first.number);
            trial.score = first.score;
            trial.split = first.split;
            trial.patch_id = first.patch_id;
        } else {
            CandidateScore scored = evaluate(candidate);
            trial.outcome = scored.outcome;
            trial.score = scored.score;
            trial.split = scored.split;
            trial.patch_id = scored.patch_id;
            trial.detail = scored.detail.dump();
        }
        trial.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

        if (Status told = instance->tell(*asked, trial.score); !told) return told.with_context("search \"" + options.name + "\"");
        auto state = instance->save_state();
        if (!state) return state.error().with_context("search \"" + options.name + "\"");
        auto recorded = records.record_trial(trial, *state, optimizer->facts().version);
        if (!recorded) return recorded.error().with_context("search \"" + options.name + "\"");
        summary.trials.push_back(std::move(*recorded));
        remember(summary.trials.size() - 1);
        if (options.on_trial) options.on_trial(summary.trials.back());
    }

    for (const auto &t : summary.trials)
        if (!summary.best || ranks_above(t, *summary.best, options.tie_break)) summary.best = t;
    auto refreshed = records.find(options.name);
    if (refreshed && refreshed->has_value()) summary.search = **refreshed;
    return summary;
}

} // namespace aicache::learning
