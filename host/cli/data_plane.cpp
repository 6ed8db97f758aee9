#include "cli/data_plane.hpp"

#include "cli/cache_client.hpp"
#include "cli/common.hpp"
#include "cli/plugin_ops.hpp"
#include "store/policy_parameters.hpp"
#include "core/log.hpp"
#include "replay/replay.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>

namespace aicache::cli {

uint64_t now_us() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

void add_data_plane_options(CLI::App &command, DataPlaneOptions &o) {
    command.add_option("--data", o.data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    command.add_option("--plugins", o.plugins, "Plugin directory (default: next to the binary)");
    command.add_option("--policy", o.policy, "Cache policy plugin name (the slot; without it, a policy a canary promoted in it runs)")
        ->each([&o](const std::string &) { o.policy_explicit = true; })
        ->capture_default_str();
    command.add_option("--policy-parameters", o.policy_parameters, "The policy's parameters, a JSON object (e.g. {\"small_ratio\": 0.05})")
        ->capture_default_str();
    command.add_option("--capacity", o.capacity, "Cache capacity (bytes, KiB, MiB, GiB)")->capture_default_str();
    command.add_option("--shards", o.shards, "Cache shards")->capture_default_str();
    command.add_option("--store-max", o.store_max,
                       "Cap on the database file (e.g. 2GiB); past it answers are served but not stored, as on a full disk");
}

namespace {

// Loads each built-in plugin that has no recorded active version yet (a fresh data directory).
void adopt_builtin_plugins(loader::PluginHost &host, const std::filesystem::path &dir) {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() != ".so") continue;
        auto known = host.versions().active(entry.path().stem().string());
        if (!known || *known) continue;
        auto loaded = host.load(entry.path(), "built-in");
        if (!loaded) spdlog::error("built-in plugin {} refused: {}", entry.path().string(), loaded.error().message());
    }
}

} // namespace

DataPlane::~DataPlane() {
    if (scratch.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
}

Expected<std::unique_ptr<DataPlane>> open_data_plane(const DataPlaneOptions &options) {
    auto plane = std::make_unique<DataPlane>();
    plane->data = data_dir(options.data);
    plane->plugins = plugin_dir(options.plugins);
    auto db = store::Database::open(plane->data / "aicache.db");
    std::string unwritable;
    std::filesystem::path library_store = plane->data / "plugins";
    if (!db) {
        // A data directory that cannot be written (read-only, full, missing permissions): serve
        // from a private scratch database, store no answers, and say why at every chance.
        unwritable = "data directory " + plane->data.string() + " is not usable (" + db.error().message() + "): serving uncached";
        spdlog::error("{}", unwritable);
        char scratch_template[] = "/tmp/aicache-scratch-XXXXXX";
        const char *scratch = ::mkdtemp(scratch_template);
        if (scratch == nullptr) return db.error();
        plane->scratch = scratch;
        library_store = plane->scratch / "plugins";
        db = store::Database::open(":memory:");
        if (!db) return db.error();
    }
    plane->db = std::move(db.value());
    if (!options.store_max.empty()) {
        auto cap = replay::parse_capacity(options.store_max, 0);
        if (!cap) return cap.error().with_context("--store-max");
        if (Status s = plane->db->limit_size(*cap); !s) return s;
    }
    plane->host = std::make_unique<loader::PluginHost>(*plane->db, library_store, child_qualifier());
    adopt_builtin_plugins(*plane->host, plane->plugins);
    auto policy = plane->host->active(options.policy);
    if (!policy) return policy.error();
    plane->policy = *policy;
    // The slot runs the policy a canary promoted last (the learning coordinator's policy choice),
    // unless the command line chose the slot's own explicitly.
    std::shared_ptr<const loader::PluginLibrary> serving = policy->library;
    if (!options.policy_explicit) {
        auto chosen = store::PolicyParameters(*plane->db).latest_choice(options.policy);
        if (chosen && *chosen && **chosen != options.policy) {
            if (auto other = plane->host->active(**chosen)) {
                serving = other->library;
                spdlog::warn("{}: serving {} {} in it, promoted by a canary (serve --policy {} names it explicitly to start with it again)",
                             options.policy, other->record.name, other->record.version, options.policy);
            } else {
                spdlog::error("{}: the promoted policy {} cannot be loaded, serving {}: {}", options.policy, **chosen, options.policy, other.error().message());
            }
        }
    }
    auto capacity = replay::parse_capacity(options.capacity, 0);
    if (!capacity) return capacity.error().with_context("--capacity");
    plane->capacity_bytes = *capacity;
    cache::CacheConfig config;
    config.capacity_bytes = *capacity;
    config.shards = options.shards;
    {
        // Unless told otherwise, the parameters a canary promoted last (patches/parameter_canary).
        std::string given = options.policy_parameters;
        if (given == "{}") {
            const std::string name = serving->facts().name;
            auto promoted = store::PolicyParameters(*plane->db).latest(name);
            if (promoted && *promoted) {
                given = **promoted;
                spdlog::info("{}: serving with the parameters promoted last: {}", name, given);
            }
        }
        nlohmann::json parameters = nlohmann::json::parse(given, nullptr, false);
        if (parameters.is_discarded() || !parameters.is_object())
            return Status(Errc::invalid_argument, "--policy-parameters must be a JSON object, not " + given);
        config.policy_parameters = parameters.dump();
    }
    auto memory = cache::Cache::create(config, serving);
    if (!memory) return memory.error();
    plane->answers = std::make_unique<store::CacheStore>(*plane->db);
    plane->cache = std::make_unique<cache::DurableCache>(std::move(memory.value()), *plane->answers);
    if (!unwritable.empty()) {
        plane->cache->refuse_writes(unwritable);
        return plane;
    }
    if (Status warmed = plane->cache->warm_start(now_us()); !warmed) return warmed;
    return plane;
}

Expected<nlohmann::json> cache_request(const DataPlaneOptions &options, const nlohmann::json &request) {
    CacheClient client(options, SemanticArgs{});
    return client.request(request);
}

} // namespace aicache::cli
