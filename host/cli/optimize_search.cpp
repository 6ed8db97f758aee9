#include "cli/optimize_search.hpp"

#include "cli/search_report.hpp"

#include <cstdio>

namespace aicache::cli {

nlohmann::json trial_json(const store::TrialRecord &t) {
    nlohmann::json out = {{"number", t.number}, {"candidate", nlohmann::json::parse(t.candidate, nullptr, false)}, {"outcome", t.outcome},
                          {"score", t.score}, {"split", t.split}, {"seconds", t.seconds}, {"finished_at", t.finished_at},
                          {"detail", nlohmann::json::parse(t.detail, nullptr, false)}};
    out["patch_id"] = t.patch_id ? nlohmann::json(*t.patch_id) : nlohmann::json();
    return out;
}

std::function<void(const store::TrialRecord &)> trial_printer(const OptimizeArgs &args, Progress &progress) {
    return [&args, &progress](const store::TrialRecord &t) {
        if (!args.json) {
            progress.suspend();
            std::fputs(trial_line(t).c_str(), stdout);
            std::fflush(stdout);
        }
        progress.update(static_cast<uint64_t>(t.number), args.trials);
    };
}

Expected<learning::SearchSummary> run_reported_search(const OptimizeArgs &args, store::Database &db,
                                                      const std::shared_ptr<const loader::PluginLibrary> &library, learning::SearchOptions &options,
                                                      const learning::Evaluator &evaluate, Progress &progress, const std::string &each) {
    if (!args.json)
        std::printf("search %s: %s, %llu trials, each %s\n", options.name.c_str(), library->facts().name_and_version().c_str(),
                    static_cast<unsigned long long>(args.trials), each.c_str());
    options.on_trial = trial_printer(args, progress);
    auto summary = learning::run_search(db, library, options, evaluate);
    progress.suspend();
    return summary;
}

nlohmann::json search_json(const std::string &name, const loader::PluginFacts &facts, const learning::SearchSummary &summary) {
    nlohmann::json out = {{"search", name}, {"optimizer", facts.name_and_version()}, {"resumed_from", summary.resumed_from}};
    out["trials"] = nlohmann::json::array();
    for (const auto &t : summary.trials) out["trials"].push_back(trial_json(t));
    out["best"] = summary.best ? trial_json(*summary.best) : nlohmann::json();
    return out;
}

} // namespace aicache::cli
