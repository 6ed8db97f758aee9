// `aicache demo` (what `make run` shows): the self-improving cache at work, narrated. Two real
// hosts (`aicache serve` child processes on data directories of their own, each in front of a
// test upstream) get the same drifting workload over HTTP, window by window: one keeps the static
// configuration tuned offline on the first window, the other learns on its own (drift test,
// learning cycle, parameter canary). On the learning host the demo also plays the parts an
// optimizer and a careless operator play: an evolved patch goes through the whole pipeline, and a
// bad parameter set and a bad patch are installed to show they are rolled back. It ends with a
// table of both hosts' figures.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/demo_driver.hpp"
#include "cli/replay_table.hpp"
#include "cli/search_report.hpp"
#include "cli/serve_process.hpp"
#include "learning/coordinator.hpp"
#include "learning/parameter_replay.hpp"
#include "learning/request_log.hpp"
#include "learning/search.hpp"
#include "patches/audit.hpp"
#include "patches/generator.hpp"
#include "patches/pipeline.hpp"
#include "patches/signing.hpp"
#include "replay/drifting_workload.hpp"
#include "replay/replay.hpp"
#include "server/test_upstream.hpp"
#include "store/database.hpp"
#include "store/learning_cycles.hpp"
#include "store/monitor_windows.hpp"
#include "store/search_records.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

namespace aicache::cli {
namespace {

struct DemoArgs {
    std::string data;
    std::string plugins;
    replay::DriftingWorkloadOptions workload;
    double capacity_share = 0.10; // of the workload's answer bytes
    uint64_t trials = 30;         // of each tuning search
    uint64_t evolve_trials = 16;
    unsigned connections = 2; // per host
    bool inject = true;       // the two bad changes
    bool patch = true;        // the evolve search and its patch
};

void say(const std::string &text) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
}

std::string percent(double ratio) { return fmt::format("{:.1f}%", 100 * ratio); }

// What an operator configuring offline on window 1 gets: the policy plugin that serves its first
// half best, if it also wins on the second half (the learning cycle's policy choice), then that
// policy's parameters tuned the same way when the host knows them.
struct StaticConfiguration {
    std::string policy = "s3fifo", parameters = "{}";
};

Expected<StaticConfiguration> configure_offline(const replay::Trace &first_window, uint64_t capacity, const DemoArgs &args,
                                                const std::filesystem::path &data, const std::filesystem::path &plugins) {
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return db.error();
    StaticConfiguration chosen;
    learning::PolicyChoiceOptions choice;
    choice.trigger = "offline: window 1";
    choice.current_name = chosen.policy;
    auto policies = qualified_policies(plugins);
    if (!policies) return policies.error();
    choice.policies = std::move(*policies);
    choice.sizes = {std::to_string(capacity)};
    choice.objective = replay::Objective::tokens; // what both hosts are compared by
    choice.min_requests = 0;
    auto chose = learning::choose_policy(**db, first_window, choice);
    if (!chose) return chose.error();
    if (chose->policy) chosen.policy = *chose->policy;
    say(fmt::format("  policy choice ({} policies on the first half of window 1, the best judged on the second half): {}\n    -> the static host serves {}\n",
                    choice.policies.size(), chose->why, chosen.policy));
    const std::string space = learning::known_tune_space(chosen.policy);
    if (space.empty()) {
        say("  (the host knows no parameters of " + chosen.policy + " to tune: its defaults)\n");
        return chosen;
    }
    auto tuner = open_qualified_plugin("optimizer", "tune", plugins, std::chrono::seconds(10));
    if (!tuner) return tuner.error();
    auto policy = open_qualified_plugin("policy", chosen.policy, plugins, std::chrono::seconds(10));
    if (!policy) return policy.error();
    auto setup = learning::prepare_parameter_replay(first_window, "window 1", 0.5, {std::to_string(capacity)}, *policy);
    if (!setup) return setup.error();
    setup->objective = replay::Objective::tokens;
    auto evaluator = learning::parameter_evaluator(*setup);
    if (!evaluator) return evaluator.error();
    learning::SearchOptions search;
    search.name = "offline: window 1";
    search.trials = args.trials;
    search.space = space;
    search.evaluation = {{"kind", "replay"}, {"target", chosen.policy}, {"trace", "window 1, first half"}, {"sizes", {std::to_string(capacity)}}, {"objective", "tokens"}};
    auto summary = learning::run_search(**db, *tuner, search, *evaluator);
    if (!summary) return summary.error();
    if (!summary->best) return chosen;
    const nlohmann::json params = nlohmann::json::parse(summary->best->candidate, nullptr, false).value("params", nlohmann::json::object());
    auto judged = learning::judge_on_held_out(*setup, params.dump());
    if (!judged) return judged.error();
    const bool better = judged->tuned.mean() > judged->defaults.mean();
    say(fmt::format("  tune ({} trials on the first half of window 1, the second half held out): tokens saved with the defaults {:.1f}%, tuned {:.1f}% -> {}\n",
                    args.trials, judged->defaults.mean(), judged->tuned.mean(),
                    better ? "the static host serves the tuned parameters " + params.dump() : std::string("the static host keeps the defaults")));
    if (better) chosen.parameters = params.dump();
    return chosen;
}

// A parameter set that should hurt the policy the host serves, and what it does in words; none
// for a policy whose parameters the demo does not know.
std::optional<std::pair<nlohmann::json, std::string>> bad_parameters_for(const std::string &policy) {
    if (policy == "s3fifo") return std::pair{nlohmann::json{{"ghost_ratio", 0.0}, {"small_ratio", 0.95}}, std::string("a small queue of 95%, no ghost")};
    if (policy == "lirs") return std::pair{nlohmann::json{{"hir_ratio", 0.95}}, std::string("95% of the cache for HIR entries, a FIFO in effect")};
    return std::nullopt;
}

// What changed on the learning host since the last look: its cycles, and its canaries' verdicts.
class LearningWatch {
public:
    explicit LearningWatch(store::Database &db) : db_(db) {}

    // Waits briefly for a cycle the last window may have started, and for it to end; prints what happened.
    void report_cycles() {
        store::LearningCycles cycles(db_);
        const auto started = std::chrono::steady_clock::now();
        for (;;) {
            auto recent = cycles.recent(4);
            bool running = false, seen_new = false;
            if (recent)
                for (const auto &c : *recent) {
                    running = running || c.decision == "running";
                    seen_new = seen_new || c.id > last_cycle_;
                }
            const auto waited = std::chrono::steady_clock::now() - started;
            if (!running && (seen_new || waited > std::chrono::milliseconds(600))) break;
            if (waited > std::chrono::seconds(120)) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        auto recent = cycles.recent(4);
        if (!recent) return;
        for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
            if (it->id <= last_cycle_ || it->decision == "running") continue;
            last_cycle_ = it->id;
            nlohmann::json detail = nlohmann::json::parse(it->detail, nullptr, false);
            std::string gain;
            if (detail.is_object() && detail.contains("later_mean_gain_points"))
                gain = fmt::format(" (on the later half, which no trial replayed: {:+.2f} points of {})", detail.value("later_mean_gain_points", 0.0),
                                   detail.value("objective", "tokens") == "tokens" ? "the tokens asked for saved" : "hit ratio");
            say(fmt::format("  learning cycle #{} on its own, trigger \"{}\": {}{}\n    why: {}\n", it->id, it->trigger, it->decision, gain, it->why));
        }
    }

    // Prints what the canaries did since the last look, from the audit log (every verdict is
    // there, even when the next change followed it at once); returns the rollbacks' subjects.
    std::vector<std::string> report_canaries() {
        std::vector<std::string> rolled_back;
        patches::AuditLog audit(db_);
        auto entries = audit.entries();
        if (!entries) return rolled_back;
        for (const auto &e : *entries) {
            if (e.seq <= last_seq_) continue;
            last_seq_ = e.seq;
            nlohmann::json details = nlohmann::json::parse(e.details, nullptr, false);
            if (!details.is_object()) details = nlohmann::json::object();
            const std::string parameters = details.contains("parameters") ? details["parameters"].dump() : "";
            if (e.action == "parameters-canary") say(fmt::format("  parameters {} on canary ({})\n", parameters, e.actor));
            else if (e.action == "parameters-promote") say(fmt::format("  parameters {} promoted: {}\n", parameters, details.value("why", "")));
            else if (e.action == "parameters-rollback") say(fmt::format("  parameters {} rolled back: {}\n", parameters, details.value("why", "")));
            else if (e.action == "policy-canary") say(fmt::format("  policy {} on canary ({})\n", details.value("swap_to", ""), e.actor));
            else if (e.action == "policy-promote") say(fmt::format("  policy {} promoted: {}\n", details.value("swap_to", ""), details.value("why", "")));
            else if (e.action == "policy-rollback") say(fmt::format("  policy {} rolled back: {}\n", details.value("swap_to", ""), details.value("why", "")));
            else if (e.action == "canary") say(fmt::format("  {} on canary ({})\n", e.subject, e.actor));
            else if (e.action == "promote") say(fmt::format("  {} promoted: {}\n", e.subject, details.value("why", "")));
            else if (e.action == "canary-rollback") say(fmt::format("  {} rolled back: {}\n", e.subject, details.value("why", "")));
            if (e.action == "parameters-rollback") rolled_back.push_back(parameters);
            if (e.action == "canary-rollback") rolled_back.push_back(e.subject);
        }
        return rolled_back;
    }

private:
    store::Database &db_;
    int64_t last_cycle_ = 0;
    int64_t last_seq_ = 0;
};

struct HostTotals {
    store::WindowFigures before, after; // summed over the windows before and after the drift
    void add(const store::WindowFigures &w, bool drifted) {
        store::WindowFigures &t = drifted ? after : before;
        t.requests += w.requests, t.hits += w.hits, t.semantic_hits += w.semantic_hits, t.misses += w.misses;
        t.tokens_answered += w.tokens_answered, t.tokens_saved += w.tokens_saved;
    }
};

Expected<store::WindowFigures> close_window(const ServeProcess &host) {
    auto answer = host.control({{"op", "monitor.close"}});
    if (!answer) return answer.error();
    if (!answer->value("closed", false)) return store::WindowFigures{}; // nothing happened in it
    return store::window_from_json((*answer)["window"]);
}

// The evolve optimizer proposes priority functions; each is rendered to a patch and goes through
// the pipeline, its trial replaying the host's own recent traffic against the policy as the host
// serves it now. The best is approved by rule if it wins by a point. Returns its id (0: none).
int64_t evolve_patch(store::Database &db, const ServeProcess &host, const std::filesystem::path &plugins, uint64_t capacity,
                     const DemoArgs &args) {
    auto evolve = open_qualified_plugin("optimizer", "evolve", plugins, std::chrono::seconds(10));
    auto traffic = replay::read_request_logs(learning::request_log_files(host.data()));
    auto served = host.control({{"op", "parameters.status"}});
    if (!evolve || !traffic || !served) {
        say("  (no patch search: " + (!evolve ? evolve.error() : !traffic ? traffic.error() : served.error()).message() + ")\n");
        return 0;
    }
    // The last four windows of what the host recorded, as a trace file the trial child can read:
    // one to warm the cache, three to measure in, so a patch whose harm grows as the cache turns
    // over (one that keeps what it should let go) shows it in its trial.
    const size_t keep = std::min(traffic->requests.size(), size_t(4 * args.workload.requests_per_window));
    traffic->requests.erase(traffic->requests.begin(), traffic->requests.end() - long(keep));
    const std::filesystem::path recent = host.data() / "recent-traffic.csv";
    if (Status written = replay::write_csv(*traffic, recent); !written) {
        say("  (no patch search: " + written.message() + ")\n");
        return 0;
    }
    patches::PatchPipeline pipeline(db, host.data());
    const std::string serving = served->value("serving", std::string("s3fifo"));
    patches::SubmitOptions submit;
    submit.target = "s3fifo"; // the host's policy slot, whatever runs in it now
    submit.who = "optimizer:evolve (demo)";
    submit.note = "demo: evolved on the host's recent traffic";
    submit.trial.trace = recent.string();
    submit.trial.incumbent = serving;
    submit.trial.incumbent_parameters = (*served)["parameters"].dump();
    submit.trial.sizes = {std::to_string(capacity)};
    submit.trial.objective = replay::Objective::tokens;
    submit.trial.warm_share = 0.25; // the first window on the policy as served, then the swap, as on the host
    learning::SearchOptions options;
    options.name = "demo";
    options.trials = args.evolve_trials;
    // The template with LIRS's structure (a small window, promotion by priority, distances in
    // distinct keys) and averaged reuse distances: against LIRS as served on the bot's loop, a
    // plain admission window of 10% found nothing a point better (patches/templates/history.cpp.in).
    options.space = R"({"template": "history", "features": ["recency", "frequency", "age", "gap", "mean_gap"],
                        "fixed": {"sample": "64", "history": "8", "window": "0.02", "promote": "1", "distinct": "1"}})";
    options.evaluation = {{"kind", "patch"}, {"target", "s3fifo"}, {"against", serving + " " + submit.trial.incumbent_parameters},
                          {"trace", "the learning host's last four windows"}, {"sizes", submit.trial.sizes}, {"objective", "tokens"}, {"warm_share", 0.25}};
    options.on_trial = [](const store::TrialRecord &t) { say(trial_line(t)); };
    options.tie_break = mean_gain;
    auto summary = learning::run_search(db, *evolve, options, patch_evaluator(pipeline, submit, patches::templates_dir()));
    if (!summary) {
        say("  (the search failed: " + summary.error().message() + ")\n");
        return 0;
    }
    if (!summary->best || !summary->best->patch_id) return 0;
    auto approved = pipeline.approve_by_rule(*summary->best->patch_id, 1.0);
    if (!approved || approved->state != store::PatchState::approved) {
        say(fmt::format("  the best, patch #{} ({:+.2f} points of tokens saved), is not approved by rule: {}\n", *summary->best->patch_id,
                        summary->best->score, approved ? "it does not win by 1 point" : approved.error().message()));
        return 0;
    }
    say(fmt::format("  the best, patch #{} ({:+.2f} points of tokens saved over {} as served), is approved by rule (it wins by at least 1 point)\n",
                    *summary->best->patch_id, summary->best->score, serving));
    return *summary->best->patch_id;
}

// A patch that should never be installed (it evicts what is used most), through the same
// pipeline: its trial shows the loss, the rule does not approve it, and an operator approves it
// anyway. That operator's mistake is what the canary is for.
int64_t careless_approval(store::Database &db, const ServeProcess &host, uint64_t capacity) {
    patches::PatchPipeline pipeline(db, host.data());
    auto served = host.control({{"op", "parameters.status"}});
    const std::string serving = served ? served->value("serving", std::string("s3fifo")) : std::string("s3fifo");
    auto tmpl = patches::PatchTemplate::load(patches::templates_dir() / "priority.cpp.in");
    auto source = tmpl ? tmpl->instantiate({{"priority", "0 - frequency"}, {"sample", "32"}}) : Expected<std::string>(tmpl.error());
    if (!source) return say("  (no bad patch: " + source.error().message() + ")\n"), 0;
    patches::SubmitOptions submit;
    submit.target = "s3fifo";
    submit.who = "demo";
    submit.note = "demo: a bad patch (evicts the most used)";
    submit.trial.trace = (host.data() / "recent-traffic.csv").string();
    submit.trial.incumbent = serving;
    if (served) submit.trial.incumbent_parameters = (*served)["parameters"].dump();
    submit.trial.sizes = {std::to_string(capacity)};
    submit.trial.objective = replay::Objective::tokens;
    submit.trial.warm_share = 0.25;
    auto patch = pipeline.submit(jit::PatchSource{"mru_demo.cpp", *source}, submit);
    if (!patch) return say("  (no bad patch: " + patch.error().message() + ")\n"), 0;
    nlohmann::json report = nlohmann::json::parse(patch->report, nullptr, false);
    for (const auto &c : report["trial"].value("comparisons", nlohmann::json::array()))
        say(fmt::format("  patch #{} (priority = 0 - frequency: evicts what is used most) is {}: in its trial it saves {:.1f}% of the tokens, {} {:.1f}%\n",
                        patch->id, store::to_string(patch->state), 100 * c.value("candidate_cost_hit_ratio", 0.0), serving,
                        100 * c.value("incumbent_cost_hit_ratio", 0.0)));
    auto key = patches::OperatorKey::generate("demo-operator");
    if (Status saved = key.save(host.data() / "demo-keys"); !saved) return say("  (" + saved.message() + ")\n"), 0;
    if (Status trusted = pipeline.trust(host.data() / "demo-keys" / "demo-operator.pub", "demo"); !trusted) return say("  (" + trusted.message() + ")\n"), 0;
    auto approved = pipeline.decide(patch->id, key, true, "demo: approved by mistake, to show the canary", 1);
    if (!approved) return say("  (" + approved.error().message() + ")\n"), 0;
    say(fmt::format("  the rule does not approve it; operator \"demo-operator\" approves it anyway (signed) and installs it\n"));
    return patch->id;
}

int run(const DemoArgs &args) {
    if (args.workload.windows < args.workload.drift_window + 11)
        return fail(Status(Errc::invalid_argument, "--windows must be at least --drift-window + 11, for the story to fit"));
    const std::filesystem::path root = data_dir(args.data) / "demo";
    const std::filesystem::path plugins = plugin_dir(args.plugins);
    std::error_code ec;
    std::filesystem::remove_all(root, ec); // each run starts both hosts afresh
    const auto began = std::chrono::steady_clock::now();

    replay::DriftingWorkload workload = replay::generate_drifting_workload(args.workload);
    const auto &w = args.workload;
    const uint64_t capacity = static_cast<uint64_t>(args.capacity_share * double(workload.trace.footprint_bytes));
    say(fmt::format("aicache demo: two hosts in front of test upstreams get the same {} questions in {} windows of {}:\n"
                    "  windows 1-{}: steady traffic, Zipf({}) popularity over {} questions\n"
                    "  windows {}-{}: after a release: new popular questions, a bot repeating {} questions in order ({:.0f}%), one-off questions ({:.0f}%)\n"
                    "  answers of 200 B-16 KB ({} distinct, {} in all); each host's cache holds {} ({:.0f}%)\n",
                    workload.trace.requests.size(), w.windows, w.requests_per_window, w.drift_window, w.zipf_alpha, w.pool, w.drift_window + 1, w.windows,
                    w.bot_questions, 100 * w.bot_share, 100 * w.one_off_share, workload.trace.distinct_objects,
                    human_bytes(workload.trace.footprint_bytes), human_bytes(capacity), 100 * args.capacity_share));

    say("\nthe static host: the policy and parameters that did best on window 1, the best an operator could fix in advance\n");
    auto fixed_configuration = configure_offline(workload.window_trace(0), capacity, args, root / "static", plugins);
    if (!fixed_configuration) return fail(fixed_configuration.error().with_context("offline configuration"));

    server::TestUpstream upstream_fixed, upstream_learning;
    if (Status s = upstream_fixed.start(); !s) return fail(s);
    if (Status s = upstream_learning.start(); !s) return fail(s);
    // Four shards: a canary runs on one of them; shards of a few hundred answers behave like the replays that tune them.
    std::vector<std::string> common = {"--no-watch", "--capacity", std::to_string(capacity), "--shards", "4", "--monitor-window", "3600"};
    if (!args.plugins.empty()) common.insert(common.end(), {"--plugins", plugins.string()});
    ServeProcess fixed, learning_host;
    // A canary runs on one shard of four, so it sees a quarter of the lookups: judged within the window it went on in.
    const uint64_t canary_window = std::min<uint64_t>(1000, w.requests_per_window / 5);
    auto flags = common;
    flags.insert(flags.end(), {"--upstream", fmt::format("http://127.0.0.1:{}/v1", upstream_fixed.port()), "--policy", fixed_configuration->policy,
                            "--policy-parameters", fixed_configuration->parameters});
    if (Status s = fixed.start(root / "static", flags); !s) return fail(s);
    flags = common;
    flags.insert(flags.end(), {"--upstream", fmt::format("http://127.0.0.1:{}/v1", upstream_learning.port()), "--learn-on-drift", "--learn-every-windows", "3",
                               "--learn-history", std::to_string(3 * w.requests_per_window), "--learn-trials", std::to_string(args.trials), "--canary-window", std::to_string(canary_window),
                               "--canary-probation", "2"});
    if (Status s = learning_host.start(root / "learning", flags); !s) return fail(s);
    say(fmt::format("the learning host: s3fifo with its defaults, learning on its own from its last 3 windows, on drift and every 3 windows\n"
                    "  (each cycle: would another policy plugin serve the recorded traffic better? if not, tune the parameters)\n"
                    "  (serve --learn-on-drift --learn-every-windows 3 --learn-history {}); a canary must pass 2 windows of {} lookups to be promoted\n"
                    "both hosts started (aicache serve on {} and {})\n\n",
                    3 * w.requests_per_window, canary_window, (root / "static").string(), (root / "learning").string()));

    auto learning_db = store::Database::open(root / "learning" / "aicache.db");
    if (!learning_db) return fail(learning_db.error());
    LearningWatch watch(**learning_db);
    HostTotals fixed_totals, learning_totals;
    int64_t evolved_patch = 0;
    int64_t bad_patch = 0;
    const uint64_t d = w.drift_window;
    // Changes made between windows, each judged by a canary during the next ones. The host runs
    // one canary at a time: a change that finds another on canary waits for the next window.
    struct Change {
        uint64_t from_window;
        std::string name;
        bool injected; // a bad change: it must be rolled back
        // Puts the change on canary; returns what the audit log will name it when it is rolled back.
        std::function<Expected<std::string>()> apply;
        std::string subject = {};
        std::optional<uint64_t> went_on = {}, gone = {}; // the windows it went on in and was rolled back in
    };
    std::vector<Change> changes;
    if (args.inject)
        changes.push_back({d + 5, "injected: a bad parameter set for the policy the learning host serves", true, [&]() -> Expected<std::string> {
                               auto served = learning_host.control({{"op", "parameters.status"}});
                               if (!served) return served.error();
                               const std::string serving = served->value("serving", std::string());
                               auto bad = bad_parameters_for(serving);
                               // Another policy is on canary or promoted in the meantime: try again at the next window.
                               if (!bad) return Status(Errc::busy, "the demo knows no bad parameters for " + serving + ", the policy it serves now");
                               auto applied = learning_host.control({{"op", "parameters.apply"}, {"who", "demo (an injected bad change)"}, {"parameters", bad->first}});
                               if (!applied) return applied.error();
                               say(fmt::format("  {} {}: {}\n", serving, bad->first.dump(), bad->second));
                               return bad->first.dump();
                           }});
    if (args.patch)
        changes.push_back({d + 7, "the evolved patch, approved by rule", false, [&]() -> Expected<std::string> {
                               if (evolved_patch == 0) return std::string(); // none was approved
                               auto installed = learning_host.control({{"op", "patch.install"}, {"id", evolved_patch}, {"who", "demo (approved by rule)"}});
                               if (!installed) return installed.error();
                               return "patch #" + std::to_string(evolved_patch);
                           }});
    if (args.inject)
        changes.push_back({d + 9, "injected: a patch approved by mistake", true, [&]() -> Expected<std::string> {
                               if (bad_patch == 0) bad_patch = careless_approval(**learning_db, learning_host, capacity);
                               if (bad_patch == 0) return std::string(); // it could not be made (said why)
                               auto installed = learning_host.control({{"op", "patch.install"}, {"id", bad_patch}, {"who", "demo-operator"}});
                               if (!installed) return installed.error();
                               return "patch #" + std::to_string(bad_patch);
                           }});
    for (uint64_t window = 0; window < w.windows; ++window) {
        for (auto &change : changes) {
            if (change.went_on || window < change.from_window) continue;
            auto applied = change.apply();
            if (!applied && applied.error().code() == Errc::busy) {
                say(fmt::format("{} waits: {}\n", change.name, applied.error().message()));
                continue;
            }
            change.went_on = window;
            if (!applied) say(fmt::format("{}: {}\n", change.name, applied.error().message()));
            else if (!applied->empty()) say(fmt::format("{}: on canary from window {}\n", change.name, window + 1));
            if (applied) change.subject = *applied;
        }

        const size_t first = window * w.requests_per_window, last = first + w.requests_per_window;
        Progress progress(fmt::format("window {}/{}", window + 1, w.windows));
        auto driven = drive(workload.trace.requests, first, last, {fixed.port(), learning_host.port()}, args.connections,
                            [&](uint64_t done, uint64_t total) { progress.update(done, total); });
        progress.suspend();
        for (const auto &f : driven)
            if (f.errors > 0) say(fmt::format("  {} of {} requests failed: {}\n", f.errors, f.requests, f.first_error));
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the last answers' records reach the monitors
        auto a = close_window(fixed);
        auto b = close_window(learning_host);
        if (!a || !b) return fail((!a ? a.error() : b.error()).with_context("monitor.close"));
        fixed_totals.add(*a, workload.drifted(window));
        learning_totals.add(*b, workload.drifted(window));
        say(fmt::format("window {:>2} {:<8} static {:>6} hits, {:>9} tokens saved | learning {:>6} hits, {:>9} tokens saved\n", window + 1,
                        workload.drifted(window) ? "drifted" : "steady", percent(a->hit_ratio()), a->tokens_saved, percent(b->hit_ratio()), b->tokens_saved));
        watch.report_cycles();
        // An injected change must be gone by the end of the window it went on in.
        for (const std::string &gone : watch.report_canaries())
            for (auto &change : changes)
                if (!change.subject.empty() && !change.gone && gone == change.subject) change.gone = window;
        if (window == d + 5 && args.patch) {
            say("the evolve optimizer proposes eviction priority functions, each rendered to a patch, validated (libclang), compiled in the\n"
                "sandboxed worker and replayed in a locked-down trial on the learning host's last four windows: the policy as it serves now\n"
                "for the first, then swapped to the patch the way the host would install it, measured on the other three against it all along:\n");
            evolved_patch = evolve_patch(**learning_db, learning_host, plugins, capacity, args);
        }
    }
    Status stopped_a = fixed.stop(), stopped_b = learning_host.stop();
    if (!stopped_a || !stopped_b) say("  (" + (!stopped_a ? stopped_a : stopped_b).message() + ")\n");

    auto row = [](const char *name, const HostTotals &t, uint64_t calls) {
        return fmt::format("{:<34} {:>9} {:>9} {:>14} {:>14} {:>15}\n", name, percent(t.before.hit_ratio()), percent(t.after.hit_ratio()), t.before.tokens_saved,
                           t.after.tokens_saved, calls);
    };
    say(fmt::format("\n{:<34} {:>9} {:>9} {:>14} {:>14} {:>15}\n", "host", "hits 1-" + std::to_string(d), "hits " + std::to_string(d + 1) + "-",
                    "tokens saved", "tokens saved", "upstream calls"));
    say(fmt::format("{:<34} {:>9} {:>9} {:>14} {:>14} {:>15}\n", "", "", "", "1-" + std::to_string(d), std::to_string(d + 1) + "-", ""));
    say(row("static (chosen offline on window 1)", fixed_totals, upstream_fixed.calls()));
    say(row("learning (on its own)", learning_totals, upstream_learning.calls()));
    const double gain = fixed_totals.after.tokens_saved ? 100.0 * (double(learning_totals.after.tokens_saved) / double(fixed_totals.after.tokens_saved) - 1) : 0;
    say(fmt::format("after the drift the learning host answered {:+.1f} points more of the questions from its cache and saved {:+.1f}% tokens\n"
                    "against the static one\n"
                    "the whole demo took {:.0f} s\n",
                    100 * (learning_totals.after.hit_ratio() - fixed_totals.after.hit_ratio()), gain,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()));
    for (const auto &change : changes) {
        if (!change.injected) continue;
        if (!change.went_on || change.subject.empty()) say(fmt::format("{}: never went on\n", change.name));
        else if (!change.gone) say(fmt::format("{}: went on in window {} and was NOT rolled back\n", change.name, *change.went_on + 1));
        else
            say(fmt::format("{}: went on in window {}, rolled back automatically in window {} ({})\n", change.name, *change.went_on + 1, *change.gone + 1,
                            *change.gone == *change.went_on ? "the same window" : std::to_string(*change.gone - *change.went_on) + " window(s) later"));
    }
    say(fmt::format("see: aicache learn history --data {0}; aicache audit log --data {0}; aicache patch list --data {0}\n", (root / "learning").string()));
    return 0;
}

} // namespace

void register_demo(CLI::App &app) {
    auto args = std::make_shared<DemoArgs>();
    CLI::App *cmd = app.add_subcommand("demo", "Two hosts, one drifting workload: a static configuration against a cache that learns on its own");
    cmd->add_option("--data", args->data, "Data directory; the demo's hosts live in its demo/ folder, recreated each run");
    cmd->add_option("--plugins", args->plugins, "Plugin directory (default: next to the aicache binary)");
    cmd->add_option("--windows", args->workload.windows, "Windows of the workload")->capture_default_str();
    cmd->add_option("--window-requests", args->workload.requests_per_window, "Requests per window")->capture_default_str();
    cmd->add_option("--drift-window", args->workload.drift_window, "Windows before the drift")->capture_default_str();
    cmd->add_option("--seed", args->workload.seed, "Workload seed")->capture_default_str();
    cmd->add_option("--capacity-share", args->capacity_share, "Cache size as a share of the workload's answer bytes")->capture_default_str();
    cmd->add_option("--trials", args->trials, "Trials of each tuning search")->capture_default_str();
    cmd->add_option("--evolve-trials", args->evolve_trials, "Trials of the evolve search")->capture_default_str();
    cmd->add_flag("!--no-inject", args->inject, "Do not inject the two bad changes (to compare the hosts on learning alone)");
    cmd->add_flag("!--no-patch", args->patch, "Do not run the evolve search or install its patch");
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
