// `aicache serve`: the long-running host. Owns the cache (driven by the active version of the
// chosen policy plugin), the plugin host, the control socket for operator commands, and the
// plugin-directory watcher that hot-swaps new builds.
#include "cache/cache.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/plugin_ops.hpp"
#include "cli/replay_table.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"
#include "loader/plugin_watcher.hpp"
#include "replay/replay.hpp"
#include "server/control_socket.hpp"
#include "server/operator_api.hpp"
#include "server/proxy_server.hpp"
#include "cache/durable_cache.hpp"
#include "store/cache_store.hpp"
#include "store/database.hpp"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>

namespace aicache::cli {
namespace {

struct ServeArgs {
    std::string data;
    std::string plugins;
    std::string policy = "s3fifo";
    std::string capacity = "256MiB";
    uint32_t shards = 16;
    bool watch = true;
    std::string listen = "127.0.0.1:8080";
    std::string max_body = "4MiB";
    std::string store_max;              // cap on the database file; empty: none
    double upstream_timeout_seconds = 120;
    uint64_t default_ttl_seconds = 0;
    std::vector<std::string> tenant_ttls; // NAME=SECONDS
    server::ProxyConfig proxy;
};

uint64_t now_us() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

// Loads each built-in plugin that has no recorded active version yet (a fresh data directory).
Status adopt_builtin_plugins(loader::PluginHost &host, const std::filesystem::path &dir) {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() != ".so") continue;
        auto known = host.versions().active(entry.path().stem().string());
        if (!known) return known.error();
        if (*known) continue;
        auto loaded = host.load(entry.path(), "serve (built-in)");
        if (!loaded) spdlog::error("built-in plugin {} refused: {}", entry.path().string(), loaded.error().message());
    }
    return Status::ok();
}

nlohmann::json stats_json(const cache::Cache &cache) {
    cache::CacheStats s = cache.stats();
    return {{"policy", cache.policy()->facts().name},
            {"policy_version", cache.policy()->facts().version},
            {"policy_sha256", cache.policy()->facts().content_hash},
            {"lookups", s.lookups},
            {"hits", s.hits},
            {"inserts", s.inserts},
            {"evictions", s.evictions},
            {"entries", s.entries},
            {"bytes_used", s.bytes_used},
            {"capacity_bytes", s.capacity_bytes},
            {"policy_errors", s.policy_errors},
            {"warm_swaps", s.warm_swaps},
            {"cold_swaps", s.cold_swaps}};
}

// Cache operations over the control socket, for scripts and tests (raw keys, no canonicalization).
Expected<std::string> handle_cache_request(cache::DurableCache &cache, const nlohmann::json &request) {
    const std::string op = request.value("op", "");
    if (op == "cache.stats") {
        nlohmann::json stats = stats_json(cache.memory());
        stats["store"] = cache.degraded_reason().empty() ? "ok" : "degraded: " + cache.degraded_reason();
        return stats.dump() + "\n";
    }
    std::string key = request.value("key", "");
    if (key.empty()) return Status(Errc::invalid_argument, op + " needs a \"key\"");
    cache::KeyView view{hash_key(key), key};
    if (op == "cache.get") {
        auto found = cache.lookup(view, now_us());
        return found.hit ? nlohmann::json{{"hit", true}, {"value", found.value()}}.dump() + "\n" : std::string("{\"hit\":false}\n");
    }
    if (op == "cache.put") {
        std::string value = request.value("value", "");
        cache::Answer answer;
        answer.key = key;
        answer.key_hash = view.hash;
        answer.value = value;
        answer.tenant = request.value("tenant", "default");
        answer.kind = "raw";
        answer.cost = request.value("cost", uint64_t(0));
        cache::StoreResult result = cache.store(answer, now_us());
        const char *outcome = result == cache::StoreResult::stored ? "stored" : result == cache::StoreResult::refused ? "refused" : "not durable";
        return std::string("{\"outcome\":\"") + outcome + "\"}\n";
    }
    return Status(Errc::invalid_argument, "unknown operation \"" + op + "\"");
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

volatile std::sig_atomic_t g_stop = 0;

int run(const ServeArgs &args) {
    auto data = data_dir(args.data);
    auto dir = plugin_dir(args.plugins);
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return fail(db.error());
    loader::PluginHost host(**db, data / "plugins", child_qualifier());
    if (Status s = adopt_builtin_plugins(host, dir); !s) return fail(s);

    auto policy = host.active(args.policy);
    if (!policy) return fail(policy.error());
    auto capacity = replay::parse_capacity(args.capacity, 0);
    if (!capacity) return fail(capacity.error());
    cache::CacheConfig config;
    config.capacity_bytes = *capacity;
    config.shards = args.shards;
    auto created = cache::Cache::create(config, policy->library);
    if (!created) return fail(created.error());
    if (!args.store_max.empty()) {
        auto cap = replay::parse_capacity(args.store_max, 0);
        if (!cap) return fail(cap.error().with_context("--store-max"));
        if (Status s = (*db)->limit_size(*cap); !s) return fail(s);
    }
    store::CacheStore answers(**db);
    cache::DurableCache durable(std::move(created.value()), answers);
    if (Status warmed = durable.warm_start(now_us()); !warmed) return fail(warmed);
    cache::Cache *cache = &durable.memory();

    host.subscribe([&](const std::string &name, const std::shared_ptr<const loader::PluginLibrary> &library) {
        if (name != args.policy) return Status::ok();
        return cache->swap_policy(library);
    });

    server::ProxyConfig proxy = args.proxy;
    if (Status s = parse_listen(args.listen, proxy); !s) return fail(s);
    auto max_body = replay::parse_capacity(args.max_body, 0);
    if (!max_body) return fail(max_body.error().with_context("--max-body"));
    proxy.max_body_bytes = *max_body;
    proxy.upstream_timeout = std::chrono::milliseconds(static_cast<int64_t>(args.upstream_timeout_seconds * 1000));
    proxy.default_ttl_seconds = args.default_ttl_seconds;
    for (const auto &spec : args.tenant_ttls) {
        size_t eq = spec.find('=');
        if (eq == std::string::npos) return fail(Status(Errc::invalid_argument, "--tenant-ttl \"" + spec + "\": expected NAME=SECONDS"));
        proxy.tenant_ttl_seconds[spec.substr(0, eq)] = std::strtoull(spec.c_str() + eq + 1, nullptr, 10);
    }
    server::Metrics metrics;
    server::ProxyServer http(proxy, durable, metrics, [cache] {
        const auto &facts = cache->policy()->facts();
        return fmt::format("kind=\"policy\",name=\"{}\",version=\"{}\",sha256=\"{}\"", facts.name, facts.version, facts.content_hash);
    });
    if (Status s = http.start(); !s) return fail(s);

    server::ControlSocket control;
    Status started = control.start(data / "control.sock", [&](const nlohmann::json &request) -> Expected<std::string> {
        const std::string op = request.value("op", "");
        if (op.rfind("cache.", 0) == 0) return handle_cache_request(durable, request);
        return server::handle_plugin_request(host, request);
    });
    if (!started) return fail(started);

    loader::PluginWatcher watcher;
    if (args.watch) {
        Status watching = watcher.start(dir, [&](const std::filesystem::path &file) {
            auto loaded = host.load(file, "inotify");
            if (loaded) spdlog::warn("hot-swapped {} to {} (version #{})", loaded->record.name, loaded->record.version, loaded->record.id);
            else spdlog::error("new build {} refused, still serving the previous version: {}", file.string(), loaded.error().message());
        });
        if (!watching) return fail(watching);
    }

    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::printf("aicache serving http://%s:%u (upstream %s): policy %s %s, capacity %s in %u shards, data %s, control %s%s\n",
                proxy.listen_address.c_str(), http.port(), proxy.upstream.empty() ? "none" : proxy.upstream.c_str(), args.policy.c_str(),
                policy->record.version.c_str(), human_bytes(*capacity).c_str(), args.shards, data.string().c_str(),
                (data / "control.sock").string().c_str(), args.watch ? fmt::format(", watching {}", dir.string()).c_str() : "");
    std::fflush(stdout);
    while (!g_stop) ::usleep(100'000);
    http.stop();
    watcher.stop();
    control.stop();
    return 0;
}

} // namespace

void register_serve(CLI::App &app) {
    auto args = std::make_shared<ServeArgs>();
    CLI::App *cmd = app.add_subcommand("serve", "Run the host: cache, plugin host, control socket, plugin-directory watcher");
    cmd->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    cmd->add_option("--plugins", args->plugins, "Plugin directory to load and watch (default: next to the binary)");
    cmd->add_option("--policy", args->policy, "Cache policy plugin name")->capture_default_str();
    cmd->add_option("--capacity", args->capacity, "Cache capacity (bytes, KiB, MiB, GiB)")->capture_default_str();
    cmd->add_option("--shards", args->shards, "Cache shards")->capture_default_str();
    cmd->add_flag("!--no-watch", args->watch, "Do not watch the plugin directory for new builds");
    cmd->add_option("--listen", args->listen, "HTTP address:port of the proxy (port 0: any free port)")->capture_default_str();
    cmd->add_option("--upstream", args->proxy.upstream, "OpenAI-compatible base URL misses go to, e.g. https://api.openai.com/v1");
    cmd->add_option("--max-body", args->max_body, "Largest request body accepted")->capture_default_str();
    cmd->add_option("--upstream-timeout", args->upstream_timeout_seconds, "Seconds for a whole upstream answer")->capture_default_str();
    cmd->add_flag("--cache-sampled", args->proxy.canonical.cache_sampled,
                  "Also cache answers to requests with temperature > 0 (or none: OpenAI's default is 1)");
    cmd->add_option("--default-ttl", args->default_ttl_seconds, "Seconds an answer lives (0: no expiry)")->capture_default_str();
    cmd->add_option("--tenant-ttl", args->tenant_ttls, "Per-namespace TTL, NAME=SECONDS (repeatable)");
    cmd->add_option("--threads", args->proxy.threads, "HTTP worker threads")->capture_default_str();
    cmd->add_option("--store-max", args->store_max,
                    "Cap on the database file (e.g. 2GiB); past it answers are served but not stored, as on a full disk");
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
