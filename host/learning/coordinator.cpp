#include "learning/coordinator.hpp"

#include "learning/parameter_replay.hpp"
#include "learning/search.hpp"
#include "replay/replay.hpp"
#include "store/learning_cycles.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace aicache::learning {

std::string known_tune_space(const std::string &policy) {
    if (policy == "s3fifo") return "{}"; // tune's own default: S3-FIFO's parameters from its defaults
    if (policy == "wtinylfu")
        return R"({"parameters": {"window_ratio": {"min": 0.001, "max": 0.8, "log": true}, "protected_ratio": {"min": 0.05, "max": 0.95}},
                   "start": {"window_ratio": 0.01, "protected_ratio": 0.8}})";
    return "";
}

double sign_test_p(size_t wins, size_t n) {
    double p = 0;
    for (size_t k = wins; k <= n; ++k) p += std::exp(std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) - double(n) * std::log(2.0));
    return std::min(1.0, p);
}

namespace {

// The later half in `chunks` consecutive parts, each judged alone with both parameter sets. The
// cache runs on from the earlier half into each chunk (only the chunk's requests are counted): a
// chunk replayed from a cold cache would show nothing of an eviction policy when the cache holds
// more than the chunk asks for.
// The two sides may run different policies (a policy choice), each setup with its own library.
Expected<nlohmann::json> judge_in_chunks(const ParameterReplay &setup, const std::string &current, const ParameterReplay &candidate_setup,
                                         const std::string &candidate, size_t chunks) {
    replay::Trace whole;
    whole.name = setup.trace_name;
    whole.requests = setup.tuning.requests;
    whole.requests.insert(whole.requests.end(), setup.held_out.requests.begin(), setup.held_out.requests.end());
    const size_t start = setup.tuning.requests.size(), later = setup.held_out.requests.size();
    // The mean over the sizes of each replay's figure, in percent.
    auto mean_percent = [&](const std::vector<replay::ReplayResult> &results) {
        double sum = 0;
        for (const auto &r : results) sum += 100 * r.ratio(setup.objective);
        return results.empty() ? 0 : sum / double(results.size());
    };
    nlohmann::json out = nlohmann::json::array();
    for (size_t c = 0; c < chunks; ++c) {
        const size_t from = start + later * c / chunks, to = start + later * (c + 1) / chunks;
        auto before = replay_at_sizes(setup, whole, current, from, to);
        if (!before) return before.error();
        auto after = replay_at_sizes(candidate_setup, whole, candidate, from, to);
        if (!after) return after.error();
        const double current_percent = mean_percent(*before), tuned_percent = mean_percent(*after);
        out.push_back({{"chunk", c + 1}, {"requests", to - from}, {"current_percent", current_percent}, {"tuned_percent", tuned_percent},
                       {"gain_points", tuned_percent - current_percent}});
    }
    return out;
}

struct ChunkVerdict {
    bool recommend = false;
    std::string why;
};

// A change judged over the later chunks: it must win significantly many of them (a one-sided sign
// test) and gain at least the margin on average. Writes the test into `detail`.
ChunkVerdict chunk_verdict(const nlohmann::json &chunks, double alpha, double min_gain_points, nlohmann::json &detail) {
    size_t wins = 0, decided = 0;
    double mean = 0;
    for (const auto &c : chunks) {
        const double gain = c["gain_points"].get<double>();
        mean += gain / double(chunks.size());
        if (gain != 0) ++decided, wins += gain > 0;
    }
    const double p = sign_test_p(wins, decided);
    detail["later_chunks"] = chunks;
    detail["sign_test"] = {{"wins", wins}, {"decided", decided}, {"p", p}, {"alpha", alpha}};
    detail["later_mean_gain_points"] = mean;
    const std::string measured = fmt::format("on the later half it won {} of {} chunks (sign test p = {:.3f}), {:+.2f} points on average", wins, decided, p, mean);
    if (p >= alpha) return {false, measured + fmt::format(": not significant at {}", alpha)};
    if (mean < min_gain_points) return {false, measured + fmt::format(": below the {:.2f}-point margin", min_gain_points)};
    return {true, measured + ": better, and significantly"};
}

// The latest `count` requests of the recorded traffic (0: all): `recorded` itself when it holds no
// more, else its tail, copied into `tail`.
const replay::Trace &latest_requests(const replay::Trace &recorded, uint64_t count, replay::Trace &tail) {
    if (count == 0 || recorded.requests.size() <= count) return recorded;
    tail.name = recorded.name;
    tail.requests.assign(recorded.requests.end() - long(count), recorded.requests.end());
    replay::summarize(tail);
    return tail;
}

// A cycle's record in the knowledge repository, finished once: with its decision, or as failed.
struct CycleRecorder {
    CycleRecorder(store::LearningCycles &cycles, int64_t id) : cycles(cycles) { report.id = id; }
    Expected<CycleReport> finish(std::string decision, std::string why) {
        report.decision = std::move(decision);
        report.why = std::move(why);
        if (Status done = cycles.finish(report.id, report.decision, report.why, report.detail.dump()); !done) return done;
        return report;
    }
    Expected<CycleReport> failed(const Status &status) {
        (void)cycles.finish(report.id, "failed", status.message(), report.detail.dump());
        return status;
    }
    store::LearningCycles &cycles;
    CycleReport report;
};

} // namespace

Expected<CycleReport> run_cycle(store::Database &db, const replay::Trace &recorded, const CycleOptions &options) {
    replay::Trace tail;
    const replay::Trace &traffic = latest_requests(recorded, options.history_requests, tail);
    store::LearningCycles cycles(db);
    const std::string opportunity = "tune " + options.policy_name + " parameters by replaying recorded traffic";
    auto id = cycles.begin(options.trigger, opportunity);
    if (!id) return id.error();
    CycleRecorder record(cycles, *id);
    CycleReport &report = record.report;
    report.detail = {{"requests", traffic.requests.size()}, {"recorded_requests", recorded.requests.size()}, {"objective", replay::to_string(options.objective)}, {"policy", options.policy_name}, {"current_parameters", nlohmann::json::parse(options.current_parameters, nullptr, false)},
                     {"sizes", options.sizes}, {"trials", options.trials}};
    auto finish = [&](std::string decision, std::string why) { return record.finish(std::move(decision), std::move(why)); };
    auto failed = [&](const Status &status) { return record.failed(status); };

    if (traffic.requests.size() < options.min_requests)
        return finish("skip", fmt::format("{} recorded requests, fewer than the {} a cycle needs to train on one half and judge on the other",
                                          traffic.requests.size(), options.min_requests));
    auto setup = prepare_parameter_replay(traffic, "recorded traffic", 0.5, options.sizes, options.policy);
    if (!setup) return failed(setup.error());
    setup->objective = options.objective;

    // Search on the earlier half. Scores are gains over the policy's defaults; the current
    // parameters are measured the same way, so the winner must beat them, not just the defaults.
    auto evaluator = parameter_evaluator(*setup);
    if (!evaluator) return failed(evaluator.error());
    SearchOptions search;
    search.name = fmt::format("cycle-{}", report.id);
    search.trials = options.trials;
    search.space = options.space;
    search.evaluation = {{"kind", "replay"}, {"target", options.policy_name}, {"trace", "recorded traffic, first half"}, {"sizes", options.sizes}};
    // The CPU budget: this thread's CPU time, so a busy data plane does not eat into it.
    auto thread_cpu = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
    };
    const double cpu_start = thread_cpu();
    if (options.cpu_seconds > 0) search.stop_early = [&] { return thread_cpu() - cpu_start >= options.cpu_seconds; };
    search.on_trial = [&](const store::TrialRecord &t) {
        if (options.on_progress) options.on_progress("tuning", static_cast<uint64_t>(t.number), options.trials);
    };
    auto summary = run_search(db, options.tuner, search, *evaluator);
    if (!summary) return failed(summary.error());
    report.detail["trials_run"] = summary->trials.size();
    report.detail["search_cpu_seconds"] = thread_cpu() - cpu_start;
    if (options.cpu_seconds > 0) report.detail["cpu_budget_seconds"] = options.cpu_seconds;
    const CandidateScore current = (*evaluator)({{"params", nlohmann::json::parse(options.current_parameters, nullptr, false)}});
    report.detail["search"] = search.name;
    report.detail["current_score_points"] = current.score;
    const std::string cut_short = summary->trials.size() < options.trials
                                      ? fmt::format(" (the CPU budget of {:g} s ended the search after {} of {} trials)", options.cpu_seconds,
                                                    summary->trials.size(), options.trials)
                                      : std::string();
    if (!summary->best || summary->best->score <= current.score)
        return finish("keep", fmt::format("no parameter set of {} trials beat the current parameters on the earlier half ({:+.2f} points over the defaults){}",
                                          summary->trials.size(), current.score, cut_short));
    const nlohmann::json best = nlohmann::json::parse(summary->best->candidate, nullptr, false).value("params", nlohmann::json::object());
    report.detail["best_parameters"] = best;
    report.detail["best_score_points"] = summary->best->score;

    // Judge on the later half, chunk by chunk.
    if (options.on_progress) options.on_progress("judging on later traffic", 0, 1);
    auto chunks = judge_in_chunks(*setup, options.current_parameters, *setup, best.dump(), std::max<size_t>(1, options.chunks));
    if (!chunks) return failed(chunks.error());
    const ChunkVerdict verdict = chunk_verdict(*chunks, options.alpha, options.min_gain_points, report.detail);
    if (!verdict.recommend) return finish("keep", verdict.why);
    report.parameters = best.dump();
    return finish("recommend", verdict.why);
}

Expected<CycleReport> choose_policy(store::Database &db, const replay::Trace &recorded, const PolicyChoiceOptions &options) {
    replay::Trace tail;
    const replay::Trace &traffic = latest_requests(recorded, options.history_requests, tail);
    store::LearningCycles cycles(db);
    auto id = cycles.begin(options.trigger, "choose the policy (now " + options.current_name + ") by replaying recorded traffic");
    if (!id) return id.error();
    CycleRecorder record(cycles, *id);
    CycleReport &report = record.report;
    report.detail = {{"requests", traffic.requests.size()}, {"objective", replay::to_string(options.objective)}, {"current", options.current_name},
                     {"sizes", options.sizes}};
    auto finish = [&](std::string decision, std::string why) { return record.finish(std::move(decision), std::move(why)); };
    auto failed = [&](const Status &status) { return record.failed(status); };
    if (traffic.requests.size() < options.min_requests)
        return finish("skip", fmt::format("{} recorded requests, fewer than the {} a cycle needs to choose on one half and judge on the other",
                                          traffic.requests.size(), options.min_requests));
    // Each policy with its defaults (the current one as it serves) on the earlier half: the best is
    // the candidate. Only the current one's and the best's replays are kept (each holds the traffic).
    std::optional<ParameterReplay> current, candidate;
    nlohmann::json earlier = nlohmann::json::object();
    std::string best_name;
    double best_percent = -1, current_percent = -1;
    for (const auto &[name, library] : options.policies) {
        auto setup = prepare_parameter_replay(traffic, "recorded traffic", 0.5, options.sizes, library);
        if (!setup) return failed(setup.error());
        setup->objective = options.objective;
        const bool is_current = name == options.current_name;
        auto measured = replay_parameters(*setup, setup->tuning, is_current ? options.current_parameters : "{}");
        if (!measured) return failed(measured.error().with_context(name));
        earlier[name] = measured->mean();
        if (is_current) current = std::move(*setup), current_percent = measured->mean();
        else if (measured->mean() > best_percent) candidate = std::move(*setup), best_percent = measured->mean(), best_name = name;
    }
    report.detail["earlier_half_percent"] = earlier;
    if (!current) return failed(Status(Errc::invalid_argument, "the current policy " + options.current_name + " is not among the policies compared"));
    if (!candidate || best_percent <= current_percent)
        return finish("keep", fmt::format("on the earlier half no other policy beat {} ({:.2f}%)", options.current_name, current_percent));
    report.detail["candidate"] = best_name;
    if (options.on_progress) options.on_progress("judging on later traffic", 0, 1);
    auto chunks = judge_in_chunks(*current, options.current_parameters, *candidate, "{}", std::max<size_t>(1, options.chunks));
    if (!chunks) return failed(chunks.error());
    const ChunkVerdict verdict = chunk_verdict(*chunks, options.alpha, options.min_gain_points, report.detail);
    const std::string which = fmt::format("{} ({:.2f}% on the earlier half, {} {:.2f}%): ", best_name, best_percent, options.current_name, current_percent);
    if (!verdict.recommend) return finish("keep", which + verdict.why);
    report.policy = best_name;
    return finish("recommend", which + verdict.why);
}

} // namespace aicache::learning
