// `aicache serve`: the long-running host. Owns the data plane (the durable cache driven by the
// active version of the chosen policy plugin), the OpenAI-compatible proxy, the control socket
// for operator commands, and the plugin-directory watcher that hot-swaps new builds.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/data_plane.hpp"
#include "cli/replay_table.hpp"
#include "cli/semantic_options.hpp"
#include "cli/serve_coordinator.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "loader/qualify.hpp"
#include "learning/request_log.hpp"
#include "loader/plugin_watcher.hpp"
#include "patches/installer.hpp"
#include "patches/model_canary.hpp"
#include "patches/parameter_canary.hpp"
#include "patches/shard_history.hpp"
#include "replay/replay.hpp"
#include "server/cache_api.hpp"
#include "server/control_socket.hpp"
#include "server/operator_api.hpp"
#include "server/proxy_server.hpp"
#include "store/monitor_windows.hpp"

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>
#include <cstdio>
#include <unistd.h>

namespace aicache::cli {
namespace {

struct ServeArgs {
    DataPlaneOptions plane;
    bool watch = true;
    std::string listen = "127.0.0.1:8080";
    std::string max_body = "4MiB";
    double upstream_timeout_seconds = 120;
    uint64_t default_ttl_seconds = 0;
    std::vector<std::string> tenant_ttls; // NAME=SECONDS
    std::string request_log_max = "64MiB"; // "off": no request log
    std::string canon = "none";            // prompt canonicalization steps
    double monitor_window_seconds = 60;    // the performance monitor's window
    ServeCoordinatorOptions learning;      // when the coordinator runs cycles on its own
    std::vector<std::string> learn_policies = {"all"}; // the policy choice's candidates; "none": no choice
    SemanticArgs semantic; // off unless an encoder is named
    server::ProxyConfig proxy;
};

// A control request's canary settings ("share", "window", "margin"), the host's where absent.
patches::CanaryOptions canary_options(const nlohmann::json &request, patches::CanaryOptions canary) {
    canary.share = request.value("share", canary.share);
    canary.window_lookups = request.value("window", canary.window_lookups);
    canary.margin_points = request.value("margin", canary.margin_points);
    canary.probation_windows = request.value("probation", canary.probation_windows);
    canary.latency_ratio = request.value("latency_ratio", canary.latency_ratio);
    return canary;
}

// The control op `learner.reload` {"learner": NAME}: a newly active checkpoint (learner train,
// learner rollback) is served from now on, without a restart.
Expected<std::string> reload_learner(const nlohmann::json &request, cache::SemanticMatcher *matcher, const SemanticArgs &semantic, DataPlane &plane) {
    const std::string name = request.value("learner", "");
    auto answer = [](nlohmann::json j) { return Expected<std::string>(j.dump() + "\n"); };
    if (matcher == nullptr) return answer({{"reloaded", false}, {"why", "this host does no semantic matching (serve --encoder)"}});
    if (name != matcher->encoder_library().facts().name)
        return answer({{"reloaded", false}, {"why", "this host's encoder is " + matcher->encoder_library().facts().name}});
    if (!semantic.encoder_checkpoint.empty())
        return answer({{"reloaded", false}, {"why", "this host serves --encoder-checkpoint " + semantic.encoder_checkpoint + ", not the active checkpoint"}});
    auto reloaded = matcher->reload(active_checkpoint(*plane.db, plane.data, matcher->encoder_library()));
    if (!reloaded) return reloaded.error();
    return answer({{"reloaded", true}, {"model", reloaded->model}, {"reembedded", reloaded->reembedded}, {"seconds", reloaded->seconds}});
}

// "127.0.0.1:8080" -> address and port.
Status parse_listen(const std::string &text, server::ProxyConfig &proxy) {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon + 1 == text.size())
        return Status(Errc::invalid_argument, "--listen \"" + text + "\": expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
    proxy.listen_address = text.substr(0, colon);
    unsigned long port = std::strtoul(text.c_str() + colon + 1, nullptr, 10);
    if (port > 65535) return Status(Errc::invalid_argument, "--listen: port " + text.substr(colon + 1) + " is out of range");
    proxy.port = static_cast<uint16_t>(port);
    return Status::ok();
}

Status proxy_config(const ServeArgs &args, server::ProxyConfig &proxy) {
    proxy = args.proxy;
    if (Status s = parse_listen(args.listen, proxy); !s) return s;
    auto max_body = replay::parse_capacity(args.max_body, 0);
    if (!max_body) return max_body.error().with_context("--max-body");
    proxy.max_body_bytes = *max_body;
    proxy.upstream_timeout = std::chrono::milliseconds(static_cast<int64_t>(args.upstream_timeout_seconds * 1000));
    proxy.default_ttl_seconds = args.default_ttl_seconds;
    auto canon = cache::PromptCanon::parse(args.canon);
    if (!canon) return canon.error().with_context("--canon");
    proxy.canonical.prompt_canon = *canon;
    for (const auto &spec : args.tenant_ttls) {
        size_t eq = spec.find('=');
        if (eq == std::string::npos) return Status(Errc::invalid_argument, "--tenant-ttl \"" + spec + "\": expected NAME=SECONDS");
        proxy.tenant_ttl_seconds[spec.substr(0, eq)] = std::strtoull(spec.c_str() + eq + 1, nullptr, 10);
    }
    return Status::ok();
}

volatile std::sig_atomic_t g_stop = 0;

int run(const ServeArgs &args) {
    server::ProxyConfig proxy;
    if (Status s = proxy_config(args, proxy); !s) return fail(s);
    auto opened = open_data_plane(args.plane);
    if (!opened) return fail(opened.error());
    DataPlane &plane = **opened;
    cache::Cache &memory = plane.cache->memory();

    // The policy plugin the slot runs: the one it started with, or a policy swap promoted since. A
    // new build of that plugin takes the slot; a new build of any other waits in the plugin store.
    struct SlotPolicy {
        std::mutex mutex;
        std::string name;
        void set(const std::string &now) {
            std::lock_guard lock(mutex);
            name = now;
        }
        bool is(const std::string &other) {
            std::lock_guard lock(mutex);
            return name == other;
        }
    } slot_policy;
    slot_policy.set(patches::CanarySplit::serving_policy(memory)->facts().name);

    // Approved patches install here (patches/installer.hpp); without the JIT the host still serves.
    patches::PatchPipeline pipeline(*plane.db, plane.data);
    std::unique_ptr<patches::PatchInstaller> installer;
    {
        auto allowlist = jit::Allowlist::load(patches::TrialOptions::defaults().allowlist);
        auto linker = allowlist ? jit::PatchLinker::create(*allowlist) : Expected<std::shared_ptr<jit::PatchLinker>>(allowlist.error());
        if (linker) {
            installer = std::make_unique<patches::PatchInstaller>(pipeline, memory, args.plane.policy, *linker);
            if (Status restored = installer->restore_active(); !restored) spdlog::error("{}", restored.message());
        } else {
            spdlog::error("patches cannot be installed on this host: {}", linker.error().message());
        }
    }
    // New policy parameters (aicache learn apply) go on a canary share of the shards first, too.
    patches::ParameterCanary parameters(memory, pipeline.audit(), *plane.db, args.plane.policy);
    // One canary at a time: two changes on the same shards would be judged on the same figures.
    patches::CanarySlot canary_slot;
    if (installer) installer->share_slot(&canary_slot);
    parameters.share_slot(&canary_slot);
    // A library that takes the slot (a promoted policy swap, or a new build of what the slot
    // runs) is what its new builds are matched against, and retires an installed patch.
    auto took_slot = [&](const loader::PluginLibrary &library) {
        slot_policy.set(library.facts().name);
        if (installer) installer->superseded(library.facts().name_and_version());
    };
    parameters.on_policy_promoted(took_slot);
    // Canaries are judged against their shards' own recent figures too (difference in differences).
    patches::ShardHistory shard_history(memory);
    if (installer) installer->baseline_from(&shard_history);
    parameters.baseline_from(&shard_history);
    // New encoder checkpoints go on a canary share of the questions (set once the matcher is open).
    std::unique_ptr<patches::ModelCanary> models;
    std::atomic<patches::ModelCanary *> model_canary{nullptr};
    std::jthread canary_judge([&](std::stop_token stop) {
        while (!stop.stop_requested()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            shard_history.sample();
            if (installer) installer->tick();
            parameters.tick();
            if (patches::ModelCanary *m = model_canary.load()) m->tick();
        }
    });

    plane.host->subscribe([&](const std::string &name, const std::shared_ptr<const loader::PluginLibrary> &library) {
        if (!slot_policy.is(name) || library->policy() == nullptr) return Status::ok();
        // A new plugin version (hot swap or rollback) takes the slot from any installed patch.
        took_slot(*library);
        return memory.swap_policy(library);
    });

    // The request log is for replays and learning, not for serving: without it the host still serves.
    std::unique_ptr<learning::RequestLog> request_log;
    if (args.request_log_max != "off" && args.request_log_max != "0") {
        auto max_bytes = replay::parse_capacity(args.request_log_max, 0);
        if (!max_bytes) return fail(max_bytes.error().with_context("--request-log-max"));
        auto opened_log = learning::RequestLog::open({plane.data / "requests.arl", *max_bytes});
        if (opened_log) request_log = std::move(opened_log.value());
        else spdlog::error("no request log: {}", opened_log.error().message());
    }

    server::Metrics metrics;
    server::ProxyServer http(proxy, *plane.cache, metrics, [&memory] {
        const auto &facts = memory.policy()->facts();
        return fmt::format("kind=\"policy\",name=\"{}\",version=\"{}\",sha256=\"{}\"", facts.name, facts.version, facts.content_hash);
    });
    http.record_requests_to(request_log.get());
    // The learning coordinator, when asked to run on its own: the tune optimizer is qualified now.
    std::unique_ptr<ServeCoordinator> coordinator;
    if (args.learning.every.count() > 0 || args.learning.every_windows > 0 || args.learning.on_drift) {
        auto tuner = open_qualified_plugin("optimizer", "tune", plane.plugins, std::chrono::seconds(10));
        if (!tuner) return fail(tuner.error().with_context("--learn-every / --learn-on-drift"));
        // The policy choice's candidates, each checked in a child like every library the host maps.
        ServeCoordinatorOptions learning = args.learning;
        const auto named = [&](const char *word) { return args.learn_policies.size() == 1 && args.learn_policies.front() == word; };
        if (!named("none")) {
            auto policies = qualified_policies(plane.plugins, named("all") ? std::vector<std::string>{} : args.learn_policies);
            if (!policies) return fail(policies.error().with_context("--learn-policies"));
            learning.policies = std::move(*policies);
        }
        coordinator = std::make_unique<ServeCoordinator>(learning, plane, args.plane.policy, request_log.get(), parameters, *tuner);
    }
    // Windows of figures for `aicache learn status` and the learning coordinator.
    learning::PerformanceMonitor monitor(std::chrono::milliseconds(static_cast<int64_t>(args.monitor_window_seconds * 1000)));
    store::MonitorWindows windows(*plane.db);
    monitor.start([&windows, &coordinator](const learning::WindowFigures &w) {
        if (Status kept = windows.add(w); !kept) spdlog::warn("monitor window not kept: {}", kept.message());
        if (coordinator) coordinator->window_closed();
    });
    if (coordinator) coordinator->start();
    http.monitor_with(&monitor);
    std::unique_ptr<cache::SemanticMatcher> matcher;
    // The judge ticks the model canary, which uses the matcher: on every way out it stops first.
    struct StopJudge {
        std::jthread &judge;
        ~StopJudge() {
            if (judge.joinable()) judge.request_stop(), judge.join();
        }
    } stop_judge{canary_judge};
    if (!args.semantic.encoder.empty()) {
        auto opened_matcher = open_matcher(args.semantic, plane);
        if (!opened_matcher) return fail(opened_matcher.error().with_context("semantic matching"));
        matcher = std::move(*opened_matcher);
        http.match_semantically_with(matcher.get());
        models = std::make_unique<patches::ModelCanary>(*matcher, pipeline.audit(), *plane.db, plane.data / "checkpoints");
        models->share_slot(&canary_slot);
        model_canary.store(models.get());
        if (coordinator) coordinator->train_models_with(models.get(), matcher->encoder_plugin());
    }
    if (Status s = http.start(); !s) return fail(s);

    // The watcher starts before the control socket answers: whoever sees the host up (a ping) and
    // then installs a build must not find it unwatched (a test once dropped five builds into
    // that gap and waited 180 s for nothing).
    loader::PluginWatcher watcher;
    if (args.watch) {
        Status watching = watcher.start(plane.plugins, [&](const std::filesystem::path &file) {
            auto loaded = plane.host->load(file, "inotify");
            if (loaded) {
                spdlog::warn("hot-swapped {} to {} (version #{})", loaded->record.name, loaded->record.version, loaded->record.id);
                (void)pipeline.audit().append("inotify", "plugin-load", loaded->record.name,
                                              {{"version", loaded->record.version}, {"content_sha256", loaded->record.content_hash}});
            }
            else spdlog::error("new build {} refused, still serving the previous version: {}", file.string(), loaded.error().message());
        });
        if (!watching) return fail(watching);
    }

    server::ControlSocket control;
    // A change's answer (cache, model, parameters, patch operations) as the control socket sends it.
    auto reply = [](Expected<nlohmann::json> answer) -> Expected<std::string> {
        if (!answer) return answer.error();
        return answer->dump() + "\n";
    };
    Status started = control.start(plane.data / "control.sock", [&](const nlohmann::json &request) -> Expected<std::string> {
        const std::string op = request.value("op", "");
        const std::string who = request.value("who", "operator");
        if (op.rfind("cache.", 0) == 0) return reply(server::handle_cache_request(*plane.cache, request, matcher.get()));
        if (op == "learner.reload") return reload_learner(request, matcher.get(), args.semantic, plane);
        if (op == "monitor.close") { // a window boundary now, e.g. where a driven workload's phase ends
            auto closed = monitor.close_now();
            if (request_log) request_log->flush(); // the window's requests are readable by replays now
            return (closed ? nlohmann::json{{"closed", true}, {"window", store::to_json(*closed)}} : nlohmann::json{{"closed", false}}).dump() + "\n";
        }
        if (op.rfind("model.", 0) == 0 && !models)
            return Status(Errc::invalid_argument, "this host does no semantic matching (serve --encoder): no model to canary");
        if (op == "model.canary") return reply(models->apply(request.value("checkpoint", int64_t(0)), who, canary_options(request, args.learning.canary)));
        if (op == "model.rollback") return reply(models->rollback(who));
        if (op == "model.status") return reply(models->status());
        if (op == "parameters.apply") {
            // With "policy": a swap to that plugin (checked in a child first), judged like parameters.
            std::shared_ptr<const loader::PluginLibrary> library;
            if (request.contains("policy")) {
                auto opened = open_qualified_plugin("policy", request.value("policy", ""), plane.plugins, std::chrono::seconds(10));
                if (!opened) return opened.error();
                library = *opened;
            }
            return reply(parameters.apply(request.value("parameters", nlohmann::json::object()), who, canary_options(request, args.learning.canary), library));
        }
        if (op == "parameters.rollback") return reply(parameters.rollback(who));
        if (op == "parameters.status") return reply(parameters.status());
        if (op.rfind("patch.", 0) == 0 && !installer) return Status(Errc::internal, "this host cannot install patches (see its log)");
        if (op == "patch.install") return reply(installer->install(request.value("id", int64_t(0)), who, canary_options(request, args.learning.canary)));
        if (op == "patch.rollback") return reply(installer->rollback(request.value("id", int64_t(0)), who));
        if (op == "patch.status") return reply(installer->status());
        for (const char *family : {"model.", "parameters.", "patch."})
            if (op.rfind(family, 0) == 0) return Status(Errc::invalid_argument, "unknown operation " + op);
        return server::handle_plugin_request(*plane.host, request, &pipeline.audit());
    });
    // Another host on this data directory is fatal; a directory we cannot write only costs the
    // control socket (the data plane already serves uncached and says why).
    if (!started && started.code() == Errc::busy) return fail(started);
    if (!started) spdlog::error("no control socket: {}", started.message());

    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    // The policy that serves: --policy, or the choice a canary promoted on an earlier run.
    const std::string serving = patches::CanarySplit::serving_policy(memory)->facts().name_and_version();
    std::printf("aicache serving http://%s:%u (upstream %s): policy %s, capacity %s in %u shards, data %s, control %s%s\n",
                proxy.listen_address.c_str(), http.port(), proxy.upstream.empty() ? "none" : proxy.upstream.c_str(),
                serving.c_str(), human_bytes(plane.capacity_bytes).c_str(),
                args.plane.shards, plane.data.string().c_str(), (plane.data / "control.sock").string().c_str(),
                args.watch ? fmt::format(", watching {}", plane.plugins.string()).c_str() : "");
    std::fflush(stdout);
    while (!g_stop) ::usleep(100'000);
    http.stop();
    if (coordinator) coordinator->stop(); // a cycle under way finishes first
    monitor.stop(); // the last, partial window is kept too
    if (matcher)
        if (Status saved = matcher->snapshot(); !saved) spdlog::error("semantic index snapshot not written (it is rebuilt at the next start): {}", saved.message());
    watcher.stop();
    control.stop();
    canary_judge.request_stop();
    canary_judge.join();
    model_canary.store(nullptr);
    return 0;
}

} // namespace

void register_serve(CLI::App &app) {
    auto args = std::make_shared<ServeArgs>();
    CLI::App *cmd = app.add_subcommand("serve", "Run the host: caching proxy, plugin host, control socket, plugin-directory watcher");
    add_data_plane_options(*cmd, args->plane);
    cmd->add_flag("!--no-watch", args->watch, "Do not watch the plugin directory for new builds");
    cmd->add_option("--listen", args->listen, "HTTP address:port of the proxy (port 0: any free port)")->capture_default_str();
    cmd->add_option("--upstream", args->proxy.upstream, "OpenAI-compatible base URL misses go to, e.g. https://api.openai.com/v1");
    cmd->add_option("--max-body", args->max_body, "Largest request body accepted")->capture_default_str();
    cmd->add_option("--upstream-timeout", args->upstream_timeout_seconds, "Seconds for a whole upstream answer")->capture_default_str();
    cmd->add_flag("--cache-sampled", args->proxy.canonical.cache_sampled,
                  "Also cache answers to requests with temperature > 0 (or none: OpenAI's default is 1)");
    cmd->add_option("--canon", args->canon,
                    "Prompt canonicalization before the exact key: none, or steps of whitespace,case,punctuation,code,identifiers "
                    "(`aicache optimize run canon --measure pairs` measures which are safe)")
        ->capture_default_str();
    cmd->add_option("--monitor-window", args->monitor_window_seconds, "Seconds per window of the performance monitor (aicache learn status)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cmd->add_option_function<double>(
           "--learn-every", [args](double seconds) { args->learning.every = std::chrono::seconds(static_cast<int64_t>(seconds)); },
           "Run a learning cycle (aicache learn now --apply) every this many seconds; 0: only when asked")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--learn-every-windows", args->learning.every_windows, "Also run a learning cycle every this many monitor windows (0: none)")
        ->capture_default_str();
    cmd->add_flag("--learn-on-drift", args->learning.on_drift,
                  "Run a learning cycle when the monitor's last window did significantly worse than the ones before");
    cmd->add_option("--learn-trials", args->learning.trials, "Trials of each cycle's search")->capture_default_str();
    cmd->add_option("--learn-policies", args->learn_policies,
                    "Policy plugins a cycle compares with the serving one by replaying the recorded traffic (all, none, or names)")
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_option("--learn-encoder-seconds", args->learning.encoder_seconds,
                    "With --encoder: seconds a cycle may train the encoder on the host's judged matches (0: never)")
        ->capture_default_str();
    cmd->add_option("--learn-encoder-min-pairs", args->learning.encoder_min_pairs,
                    "With --encoder: judged matches a cycle needs beyond the last encoder cycle's before it trains")
        ->capture_default_str();
    add_objective_option(*cmd, "--learn-objective", args->learning.objective, "What learning cycles improve: tokens (saved by hits) or hits (hit ratio)");
    cmd->add_option("--learn-cpu-seconds", args->learning.cpu_seconds, "CPU seconds each cycle's search may use (0: --learn-trials bounds it)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--learn-history", args->learning.history, "Requests a cycle learns from: the latest this many recorded (0: all)")
        ->capture_default_str();
    cmd->add_option("--canary-share", args->learning.canary.share, "Share of the shards a canary runs on (patches, parameters)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--canary-window", args->learning.canary.window_lookups, "Lookups per side before a canary is judged")->capture_default_str();
    cmd->add_option("--canary-margin", args->learning.canary.margin_points, "Points a canary may trail the other shards by")
        ->capture_default_str();
    cmd->add_option("--canary-latency-ratio", args->learning.canary.latency_ratio,
                    "Model canaries: how many times the serving model's mean lookup time the canary's may take (0: not judged)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cmd->add_option("--canary-probation", args->learning.canary.probation_windows,
                    "Windows of lookups a canary must pass, each judged alone, before it is promoted")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    add_objective_option(*cmd, "--canary-objective", args->learning.canary.objective,
                         "What a canary is judged by: tokens (the share of the tokens asked for that hits saved) or hits (hit ratio)");
    cmd->add_option("--default-ttl", args->default_ttl_seconds, "Seconds an answer lives (0: no expiry)")->capture_default_str();
    cmd->add_option("--tenant-ttl", args->tenant_ttls, "Per-namespace TTL, NAME=SECONDS (repeatable)");
    cmd->add_option("--request-log-max", args->request_log_max,
                    "Size at which <data>/requests.arl rotates (4 files kept); 'off': record no requests")
        ->capture_default_str();
    cmd->add_option("--threads", args->proxy.threads, "HTTP worker threads")->capture_default_str();
    add_semantic_options(*cmd, args->semantic);
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
