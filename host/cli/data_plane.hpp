// Opens what the data plane runs on: the database, the plugin host, the active policy, and the
// durable answer cache built from them. `serve` keeps it open; the cache commands (`exec`,
// `list`, `inspect`, `clear`, `stats`) go through a running host when there is one and open it
// themselves when there is not.
#pragma once

#include "cache/durable_cache.hpp"
#include "core/status.hpp"
#include "loader/plugin_host.hpp"
#include "store/cache_store.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace aicache::cli {

struct DataPlaneOptions {
    std::string data;    // --data (resolved with data_dir())
    std::string plugins; // --plugins (resolved with plugin_dir())
    std::string policy = "s3fifo";
    bool policy_explicit = false; // --policy was given: the slot runs it, not a policy a canary promoted
    std::string policy_parameters = "{}"; // a JSON object of the policy's parameters (aicache learn now recommends some)
    std::string capacity = "256MiB";
    uint32_t shards = 16;
    std::string store_max; // cap on the database file; empty: none
};

// Registers --data, --plugins, --policy, --capacity, --shards, --store-max on a command.
void add_data_plane_options(CLI::App &command, DataPlaneOptions &options);

struct DataPlane {
    ~DataPlane();
    std::filesystem::path scratch; // a private directory used when `data` cannot be written; removed at the end
    std::filesystem::path data;
    std::filesystem::path plugins;
    uint64_t capacity_bytes = 0;
    std::unique_ptr<store::Database> db;
    std::unique_ptr<loader::PluginHost> host;
    loader::LoadedVersion policy;
    std::unique_ptr<store::CacheStore> answers;
    std::unique_ptr<cache::DurableCache> cache;
};

Expected<std::unique_ptr<DataPlane>> open_data_plane(const DataPlaneOptions &options);

// A cache API request (see server/cache_api.hpp) answered by the running host, or locally.
Expected<nlohmann::json> cache_request(const DataPlaneOptions &options, const nlohmann::json &request);

uint64_t now_us();

} // namespace aicache::cli
