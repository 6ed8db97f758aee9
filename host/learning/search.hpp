// Drives an optimizer plugin's ask/tell search: asks for a candidate, has it measured by the
// caller's evaluator (a patch through the pipeline, or a parameter set through a replay), tells
// the score back, and records the trial and the optimizer's state together in the knowledge
// repository. A search is named: running it again resumes from the recorded state, and a
// candidate the search has measured before is scored from its record, not measured again.
#pragma once

#include "core/status.hpp"
#include "loader/optimizer_instance.hpp"
#include "store/search_records.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aicache::learning {

// What an evaluator reports for one candidate. Higher scores are better; a candidate that could
// not be measured (refused, crashed) gets the worst score its evaluator can give.
struct CandidateScore {
    double score = 0;
    std::string outcome;
    std::optional<int64_t> patch_id;
    std::string split; // the data the score was measured on
    nlohmann::json detail = nlohmann::json::object();
};
using Evaluator = std::function<CandidateScore(const nlohmann::json &candidate)>;
// A second figure of a trial that decides between trials with equal scores (higher ranks above);
// the evaluator's caller knows what its detail holds.
using TieBreak = std::function<double(const store::TrialRecord &trial)>;

struct SearchOptions {
    std::string name;
    uint64_t trials = 20;           // the search's total budget, counting trials of earlier runs
    std::optional<std::string> space; // unset: "{}" for a new search, the recorded one when resuming
    nlohmann::json evaluation = nlohmann::json::object(); // how candidates are measured; must match on resume
    std::function<void(const store::TrialRecord &)> on_trial; // progress, after each recorded trial
    std::function<bool()> stop_early; // asked before each new trial: true ends this run (a later run resumes the search)
    TieBreak tie_break;               // between equal scores (unset: the earlier trial stays the best)
};

struct SearchSummary {
    store::SearchRecord search;
    std::vector<store::TrialRecord> trials; // all of them, earlier runs included
    uint64_t resumed_from = 0;              // trials recorded before this run
    std::optional<store::TrialRecord> best;
};

Expected<SearchSummary> run_search(store::Database &db, const std::shared_ptr<const loader::PluginLibrary> &optimizer,
                                   const SearchOptions &options, const Evaluator &evaluate);

// Whether trial a ranks above trial b as the search's best: the higher score, and between equal
// scores the higher tie_break (when given). A trial ranked no higher than the best so far leaves
// the earlier one the best.
bool ranks_above(const store::TrialRecord &a, const store::TrialRecord &b, const TieBreak &tie_break);

// The candidate without its id: two candidates with the same key are the same experiment.
std::string candidate_key(const nlohmann::json &candidate);

} // namespace aicache::learning
