// `aicache learn status | now | history | explain CYCLE`: what the cache has been doing, window by
// window, as the performance monitor of a `serve` on this data directory recorded it
// (learning/performance_monitor.hpp); a learning cycle run now on the recorded traffic
// (learning/coordinator.hpp); and what every cycle tried, measured and decided.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "learning/coordinator.hpp"
#include "replay/replay.hpp"
#include "learning/request_log.hpp"
#include "loader/qualify.hpp"
#include "server/control_socket.hpp"
#include "store/learning_cycles.hpp"
#include "store/monitor_windows.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace aicache::cli {
namespace {

struct LearnArgs {
    std::string data, plugins;
    size_t count = 12; // windows (status) or cycles (history) shown
    bool json = false;
    // learn now
    std::string policy = "s3fifo", parameters = "{}", space, trace;
    uint64_t trials = 30, min_requests = 2000, history = 0;
    replay::Objective objective = replay::Objective::tokens;
    double cpu_seconds = 0;
    std::vector<std::string> sizes = {"10%"};
    bool apply = false;
    std::string opportunity = "tune";      // tune | policy
    std::string swap_to;                   // learn apply --policy: another policy plugin, on canary
    std::vector<std::string> policies;     // the policy choice's candidates (default: every policy plugin)
    // learn explain
    int64_t cycle = 0;
    // learn apply | canary
    double share = 0.25, margin = 2.0;
    uint64_t window = 2000;
    bool rollback = false;
};

// Asks the host serving the data directory (its control socket) to do `request`.
int ask_host(const LearnArgs &args, nlohmann::json request, const std::string &who) {
    request["who"] = who;
    auto answer = server::control_request(data_dir(args.data) / "control.sock", request);
    if (!answer) return fail(answer.error().with_context("no host answered on this data directory's control socket"));
    nlohmann::json parsed = nlohmann::json::parse(*answer, nullptr, false);
    std::printf("%s\n", parsed.is_discarded() ? answer->c_str() : parsed.dump(2).c_str());
    return 0;
}

nlohmann::json apply_request(const LearnArgs &args, const nlohmann::json &parameters) {
    return {{"op", "parameters.apply"}, {"parameters", parameters}, {"share", args.share}, {"window", args.window}, {"margin", args.margin}};
}

std::string clock_time(uint64_t us) {
    std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", utc);
}

int status(const LearnArgs &args) {
    auto db = store::Database::open(data_dir(args.data) / "aicache.db");
    if (!db) return fail(db.error());
    store::MonitorWindows windows(**db);
    auto recent = windows.recent(args.count);
    if (!recent) return fail(recent.error());
    if (args.json) {
        nlohmann::json out = {{"windows", nlohmann::json::array()}};
        for (const auto &w : *recent) out["windows"].push_back(store::to_json(w));
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (recent->empty()) {
        std::printf("no windows recorded yet: `aicache serve` records one every --monitor-window seconds (60) while it serves\n");
        return 0;
    }
    std::printf("%-19s %6s %8s %7s %8s %8s %12s %6s %9s %9s\n", "window end (UTC)", "secs", "requests", "hits", "semantic", "hit ratio",
                "tokens saved", "wrong", "p50 ms", "p99 ms");
    for (const auto &w : *recent)
        std::printf("%-19s %6.0f %8llu %7llu %8llu %8.1f%% %12llu %6llu %9.2f %9.2f\n", clock_time(w.end_us).c_str(),
                    double(w.end_us - w.start_us) / 1e6, (unsigned long long)w.requests, (unsigned long long)w.hits,
                    (unsigned long long)w.semantic_hits, 100 * w.hit_ratio(), (unsigned long long)w.tokens_saved,
                    (unsigned long long)w.wrong_reports, w.latency_p50_us / 1000.0, w.latency_p99_us / 1000.0);
    return 0;
}

// `learn now --opportunity policy`: every policy plugin (or --policies) against the serving one.
int choose(const LearnArgs &args) {
    const std::filesystem::path data = data_dir(args.data);
    auto traffic = args.trace.empty() ? replay::read_request_logs(learning::request_log_files(data)) : replay::read_trace(args.trace);
    if (!traffic) return fail(traffic.error().with_context(args.trace.empty() ? "the recorded traffic" : "--trace"));
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return fail(db.error());
    learning::PolicyChoiceOptions options;
    options.current_name = args.policy;
    options.current_parameters = args.parameters;
    auto policies = qualified_policies(plugin_dir(args.plugins), args.policies);
    if (!policies) return fail(policies.error().with_context("--policies"));
    options.policies = std::move(*policies);
    if (std::none_of(options.policies.begin(), options.policies.end(), [&](const auto &p) { return p.first == args.policy; })) {
        auto current = open_qualified_plugin("policy", args.policy, plugin_dir(args.plugins), std::chrono::seconds(10));
        if (!current) return fail(current.error().with_context("--policy"));
        options.policies.emplace_back(args.policy, *current);
    }
    options.sizes = args.sizes;
    options.min_requests = args.min_requests;
    options.history_requests = args.history;
    options.objective = args.objective;
    auto report = learning::choose_policy(**db, *traffic, options);
    if (!report) return fail(report.error());
    if (args.json) {
        nlohmann::json out = {{"cycle", report->id}, {"decision", report->decision}, {"why", report->why}, {"detail", report->detail}};
        if (report->policy) out["policy"] = *report->policy;
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("cycle %lld: %s: %s\n", static_cast<long long>(report->id), report->decision.c_str(), report->why.c_str());
    if (report->policy && args.apply) {
        std::printf("applying it to the running host, on canary first:\n");
        nlohmann::json request = apply_request(args, nlohmann::json::object());
        request["policy"] = *report->policy;
        return ask_host(args, request, "coordinator (cycle " + std::to_string(report->id) + ")");
    }
    if (report->policy) std::printf("apply it: aicache learn apply --policy %s (to the running host, on canary first)\n", report->policy->c_str());
    return 0;
}

int now(const LearnArgs &args) {
    if (args.opportunity == "policy") return choose(args);
    if (args.opportunity != "tune") return fail(Status(Errc::invalid_argument, "--opportunity must be tune or policy, not " + args.opportunity));
    const std::string space = args.space.empty() ? learning::known_tune_space(args.policy) : args.space;
    if (space.empty()) return fail(Status(Errc::invalid_argument, "no known parameters to tune for " + args.policy + ": give --space"));
    const std::filesystem::path data = data_dir(args.data);
    auto traffic = args.trace.empty() ? replay::read_request_logs(learning::request_log_files(data)) : replay::read_trace(args.trace);
    if (!traffic) return fail(traffic.error().with_context(args.trace.empty() ? "the recorded traffic" : "--trace"));
    auto policy = open_qualified_plugin("policy", args.policy, plugin_dir(args.plugins), std::chrono::seconds(10));
    if (!policy) return fail(policy.error().with_context("--policy"));
    auto tuner = open_qualified_plugin("optimizer", "tune", plugin_dir(args.plugins), std::chrono::seconds(10));
    if (!tuner) return fail(tuner.error());
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return fail(db.error());

    learning::CycleOptions options;
    options.policy_name = args.policy;
    options.policy = *policy;
    options.tuner = *tuner;
    options.space = space;
    options.current_parameters = args.parameters;
    options.trials = args.trials;
    options.sizes = args.sizes;
    options.min_requests = args.min_requests;
    options.history_requests = args.history;
    options.cpu_seconds = args.cpu_seconds;
    options.objective = args.objective;
    Progress bar{""};
    std::string shown;
    options.on_progress = [&](const std::string &step, uint64_t done, uint64_t total) {
        if (step != shown) bar = Progress(step), shown = step;
        bar.update(done, total);
    };
    auto report = learning::run_cycle(**db, *traffic, options);
    bar.suspend();
    if (!report) return fail(report.error());
    if (args.json) {
        nlohmann::json out = {{"cycle", report->id}, {"decision", report->decision}, {"why", report->why}, {"detail", report->detail}};
        if (report->parameters) out["parameters"] = nlohmann::json::parse(*report->parameters);
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("cycle %lld: %s: %s\n", static_cast<long long>(report->id), report->decision.c_str(), report->why.c_str());
    if (report->parameters && args.apply) {
        std::printf("applying it to the running host, on canary first:\n");
        return ask_host(args, apply_request(args, nlohmann::json::parse(*report->parameters)), "coordinator (cycle " + std::to_string(report->id) + ")");
    }
    if (report->parameters)
        std::printf("apply it: aicache learn apply --policy-parameters '%s' (to the running host, on canary first)\n", report->parameters->c_str());
    return 0;
}

int history(const LearnArgs &args) {
    auto db = store::Database::open(data_dir(args.data) / "aicache.db");
    if (!db) return fail(db.error());
    auto cycles = store::LearningCycles(**db).recent(args.count);
    if (!cycles) return fail(cycles.error());
    if (args.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &c : *cycles)
            out.push_back({{"cycle", c.id}, {"trigger", c.trigger}, {"started_at", c.started_at}, {"finished_at", c.finished_at},
                           {"opportunity", c.opportunity}, {"decision", c.decision}, {"why", c.why}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (cycles->empty()) std::printf("no learning cycle yet: `aicache learn now` runs one\n");
    for (const auto &c : *cycles)
        std::printf("#%-4lld %-20s %-8s %-10s %s\n", static_cast<long long>(c.id), c.started_at.c_str(), c.trigger.c_str(), c.decision.c_str(), c.why.c_str());
    return 0;
}

int explain(const LearnArgs &args) {
    auto db = store::Database::open(data_dir(args.data) / "aicache.db");
    if (!db) return fail(db.error());
    auto cycle = store::LearningCycles(**db).find(args.cycle);
    if (!cycle) return fail(cycle.error());
    if (!*cycle) return fail(Status(Errc::not_found, "no learning cycle #" + std::to_string(args.cycle) + " (aicache learn history)"));
    const auto &c = **cycle;
    nlohmann::json detail = nlohmann::json::parse(c.detail, nullptr, false);
    if (args.json) {
        std::printf("%s\n", nlohmann::json{{"cycle", c.id}, {"trigger", c.trigger}, {"started_at", c.started_at}, {"finished_at", c.finished_at},
                                           {"opportunity", c.opportunity}, {"decision", c.decision}, {"why", c.why}, {"detail", detail}}
                                 .dump(2)
                                 .c_str());
        return 0;
    }
    std::printf("cycle #%lld, %s, started %s, finished %s\n  tried: %s\n  decided: %s, because %s\n", static_cast<long long>(c.id), c.trigger.c_str(),
                c.started_at.c_str(), c.finished_at.c_str(), c.opportunity.c_str(), c.decision.c_str(), c.why.c_str());
    if (detail.contains("requests")) std::printf("  recorded requests: %llu (earlier half to tune, later half to judge)\n", detail["requests"].get<unsigned long long>());
    if (detail.contains("search")) std::printf("  trials: `aicache optimize show %s`\n", detail["search"].get<std::string>().c_str());
    if (detail.contains("best_parameters"))
        std::printf("  best on the earlier half: %s (%+.2f points over the defaults; current %+.2f)\n", detail["best_parameters"].dump().c_str(),
                    detail.value("best_score_points", 0.0), detail.value("current_score_points", 0.0));
    if (detail.contains("checkpoint") && detail.contains("before") && detail.contains("after")) { // an encoder cycle
        auto point = [](const nlohmann::json &p) {
            return fmt::format("{:.1f}% hits, {:.1f}% false hits", 100 * p.value("hit_rate", 0.0), 100 * p.value("false_hit_rate", 0.0));
        };
        std::printf("  checkpoint #%lld trained on %llu judged pairs, measured on %llu held out: serving model %s, new %s (`aicache learner list`)\n",
                    detail["checkpoint"].get<long long>(), detail.value("train", 0ull), detail.value("test", 0ull), point(detail["before"]).c_str(),
                    point(detail["after"]).c_str());
    }
    if (detail.contains("earlier_half_percent")) { // a policy choice
        std::printf("  on the earlier half (%s):", detail.value("objective", std::string("hits")).c_str());
        for (const auto &[name, percent] : detail["earlier_half_percent"].items()) std::printf(" %s %.2f%%", name.c_str(), percent.get<double>());
        std::printf("\n");
    }
    if (detail.contains("later_chunks")) {
        std::printf("  later half, chunk by chunk (current -> %s):\n", detail.contains("candidate") ? detail["candidate"].get<std::string>().c_str() : "tuned");
        for (const auto &ch : detail["later_chunks"])
            std::printf("    %2d  %7llu requests  %6.2f%% -> %6.2f%%  %+.2f\n", ch["chunk"].get<int>(), ch["requests"].get<unsigned long long>(),
                        ch["current_percent"].get<double>(), ch["tuned_percent"].get<double>(), ch["gain_points"].get<double>());
    }
    return 0;
}

int apply(const LearnArgs &args) {
    nlohmann::json parameters = nlohmann::json::parse(args.parameters, nullptr, false);
    if (parameters.is_discarded() || !parameters.is_object())
        return fail(Status(Errc::invalid_argument, "--policy-parameters must be a JSON object, not " + args.parameters));
    nlohmann::json request = apply_request(args, parameters);
    if (!args.swap_to.empty()) request["policy"] = args.swap_to;
    return ask_host(args, request, current_user());
}

int canary(const LearnArgs &args) {
    return ask_host(args, {{"op", args.rollback ? "parameters.rollback" : "parameters.status"}}, current_user());
}

} // namespace

void register_learn(CLI::App &app) {
    CLI::App *learn = app.add_subcommand("learn", "What the cache has been doing, and what it learned from it");
    learn->require_subcommand(1);
    auto args = std::make_shared<LearnArgs>();
    learn->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    learn->add_option("--plugins", args->plugins, "Plugin directory (default: beside the executable)");
    CLI::App *status_cmd = learn->add_subcommand("status", "The performance monitor's last windows: requests, hit ratio, tokens saved, latency");
    status_cmd->add_option("--windows", args->count, "How many windows")->capture_default_str();
    status_cmd->add_flag("--json", args->json, "JSON");
    on_callback(status_cmd, [args] { return status(*args); });

    CLI::App *now_cmd = learn->add_subcommand("now", "Run a learning cycle on the recorded traffic: tune, judge on later traffic, decide");
    now_cmd->add_option("--opportunity", args->opportunity,
                        "tune: the serving policy's parameters; policy: whether another policy plugin would serve the traffic better")
        ->capture_default_str();
    now_cmd->add_option("--policies", args->policies, "With --opportunity policy: the candidates (default: every policy plugin)")->delimiter(',');
    now_cmd->add_option("--policy", args->policy, "The serving policy (whose parameters are tuned)")->capture_default_str();
    now_cmd->add_option("--policy-parameters", args->parameters, "What it serves with now (JSON object)")->capture_default_str();
    now_cmd->add_option("--space", args->space, "The tune optimizer's search space (known for s3fifo and wtinylfu)");
    now_cmd->add_option("--trials", args->trials, "Trials of the search")->capture_default_str();
    now_cmd->add_option("--size", args->sizes, "Cache sizes to replay at")->delimiter(',')->capture_default_str();
    now_cmd->add_option("--min-requests", args->min_requests, "Recorded requests a cycle needs")->capture_default_str();
    now_cmd->add_option("--cpu-seconds", args->cpu_seconds, "CPU seconds the cycle's search may use (0: only --trials bounds it)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    add_objective_option(*now_cmd, "--objective", args->objective, "What the cycle improves: tokens (saved by hits) or hits (hit ratio)");
    now_cmd->add_option("--history", args->history, "Learn from the latest this many recorded requests only (0: all)")->capture_default_str();
    now_cmd->add_option("--trace", args->trace, "Learn from this trace instead of the recorded traffic");
    now_cmd->add_flag("--apply", args->apply, "Apply a recommendation to the host serving the data directory (on canary first)");
    now_cmd->add_flag("--json", args->json, "JSON");
    on_callback(now_cmd, [args] { return now(*args); });

    CLI::App *apply_cmd = learn->add_subcommand("apply", "Give the running host new policy parameters, or another policy: on a canary share of shards, promoted or rolled back by live traffic");
    apply_cmd->add_option("--policy-parameters", args->parameters, "The parameters (JSON object)")->capture_default_str();
    apply_cmd->add_option("--policy", args->swap_to, "Swap to this policy plugin (with --policy-parameters, default its defaults), on canary first");
    for (CLI::App *cmd : {apply_cmd, now_cmd}) {
        cmd->add_option("--share", args->share, "Share of the shards the canary runs on")->capture_default_str();
        cmd->add_option("--window", args->window, "Lookups per side before the canary is judged")->capture_default_str();
        cmd->add_option("--margin", args->margin, "Hit-ratio points the canary may trail the other shards by")->capture_default_str();
    }
    on_callback(apply_cmd, [args] { return apply(*args); });

    CLI::App *canary_cmd = learn->add_subcommand("canary", "The running host's policy parameters and any canary of new ones");
    canary_cmd->add_flag("--rollback", args->rollback, "Roll the canary back now");
    on_callback(canary_cmd, [args] { return canary(*args); });

    CLI::App *history_cmd = learn->add_subcommand("history", "Every learning cycle: when, why, what it decided");
    history_cmd->add_option("--last", args->count, "How many cycles")->capture_default_str();
    history_cmd->add_flag("--json", args->json, "JSON");
    on_callback(history_cmd, [args] { return history(*args); });

    CLI::App *explain_cmd = learn->add_subcommand("explain", "One cycle: what it tried, what it measured on later traffic, and why it decided so");
    explain_cmd->add_option("cycle", args->cycle, "Cycle number (aicache learn history)")->required();
    explain_cmd->add_flag("--json", args->json, "JSON");
    on_callback(explain_cmd, [args] { return explain(*args); });
}

} // namespace aicache::cli
