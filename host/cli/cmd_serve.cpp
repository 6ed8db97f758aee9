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

// Cache operations over the control socket, so scripts and tests can drive traffic before the
// HTTP data plane exists.
Expected<std::string> handle_cache_request(cache::Cache &cache, const nlohmann::json &request) {
    const std::string op = request.value("op", "");
    if (op == "cache.stats") return stats_json(cache).dump() + "\n";
    std::string key = request.value("key", "");
    if (key.empty()) return Status(Errc::invalid_argument, op + " needs a \"key\"");
    cache::KeyView view{hash_key(key), key};
    if (op == "cache.get") {
        auto found = cache.lookup(view, now_us());
        return found.hit ? nlohmann::json{{"hit", true}, {"value", found.value()}}.dump() + "\n" : std::string("{\"hit\":false}\n");
    }
    if (op == "cache.put") {
        cache::InsertRequest insert;
        insert.key = view;
        std::string value = request.value("value", "");
        insert.value = value;
        insert.cost = request.value("cost", uint64_t(0));
        return std::string("{\"outcome\":\"") + cache::to_string(cache.insert(insert, now_us())) + "\"}\n";
    }
    return Status(Errc::invalid_argument, "unknown operation \"" + op + "\"");
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
    std::unique_ptr<cache::Cache> cache = std::move(created.value());

    host.subscribe([&](const std::string &name, const std::shared_ptr<const loader::PluginLibrary> &library) {
        if (name != args.policy) return Status::ok();
        return cache->swap_policy(library);
    });

    server::ControlSocket control;
    Status started = control.start(data / "control.sock", [&](const nlohmann::json &request) -> Expected<std::string> {
        const std::string op = request.value("op", "");
        if (op.rfind("cache.", 0) == 0) return handle_cache_request(*cache, request);
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
    std::printf("aicache serving: policy %s %s, capacity %s in %u shards, data %s, control %s%s\n", args.policy.c_str(),
                policy->record.version.c_str(), human_bytes(*capacity).c_str(), args.shards, data.string().c_str(),
                (data / "control.sock").string().c_str(), args.watch ? fmt::format(", watching {}", dir.string()).c_str() : "");
    std::fflush(stdout);
    while (!g_stop) ::usleep(100'000);
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
    cmd->callback([args] {
        if (int code = run(*args); code != 0) throw CLI::RuntimeError(code);
    });
}

} // namespace aicache::cli
