#include "cli/plugin_ops.hpp"

#include "loader/qualification_cache.hpp"
#include "patches/audit.hpp"
#include "server/control_socket.hpp"
#include "server/operator_api.hpp"
#include "store/database.hpp"

namespace aicache::cli {

loader::PluginHost::Qualifier child_qualifier() {
    return [](const std::filesystem::path &file) {
        loader::QualifyOptions options;
        options.aicache_exe = loader::current_executable();
        loader::Verdict verdict = loader::qualify_remembered(file, options);
        if (!verdict.status) return Expected<std::string>(verdict.status.with_context("qualification"));
        return Expected<std::string>(std::move(verdict.content_hash));
    };
}

Expected<std::string> plugin_request(const std::filesystem::path &data, const nlohmann::json &request) {
    auto online = server::control_request(data / "control.sock", request);
    if (online || online.error().code() != Errc::not_found) return online;
    // No host runs: act on the data directory directly; a host started later picks it up.
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return db.error();
    loader::PluginHost host(**db, data / "plugins", child_qualifier());
    patches::AuditLog audit(**db);
    return server::handle_plugin_request(host, request, &audit);
}

} // namespace aicache::cli
