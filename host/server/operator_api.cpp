#include "server/operator_api.hpp"

#include "patches/audit.hpp"

#include <fmt/format.h>

namespace aicache::server {
namespace {

std::string short_hash(const std::string &hash) { return hash.substr(0, 12); }

Expected<std::string> list(loader::PluginHost &host) {
    auto active = host.versions().active();
    if (!active) return active.error();
    if (active->empty()) return std::string("no plugin versions recorded yet: `aicache plugin load FILE.so`\n");
    std::string out = fmt::format("{:<14} {:<8} {:<10} {:>5} {:<13} {:<6} {:<25} {}\n", "name", "kind", "version", "id",
                                  "sha256", "abi", "loaded at", "by");
    for (const auto &v : *active)
        out += fmt::format("{:<14} {:<8} {:<10} {:>5} {:<13} {:<6} {:<25} {}\n", v.name, v.kind, v.version, "#" + std::to_string(v.id),
                           short_hash(v.content_hash), fmt::format("{}.{}", v.abi_major, v.abi_minor), v.loaded_at, v.loaded_by);
    return out;
}

Expected<std::string> history(loader::PluginHost &host, const std::string &name) {
    auto events = host.versions().history(name);
    if (!events) return events.error();
    if (events->empty()) return Status(Errc::not_found, "plugin " + name + " has no recorded versions");
    auto active = host.versions().active(name);
    if (!active) return active.error();
    std::string out = fmt::format("{:<25} {:<9} {:>5} {:<10} {:<13} {:<12} {}\n", "at", "action", "id", "version", "sha256", "by", "");
    for (const auto &e : *events) {
        bool current = *active && (*active)->id == e.version.id && &e == &events->back();
        out += fmt::format("{:<25} {:<9} {:>5} {:<10} {:<13} {:<12} {}\n", e.at, e.action, "#" + std::to_string(e.version.id),
                           e.version.version, short_hash(e.version.content_hash), e.by, current ? "<- active" : "");
    }
    return out;
}

std::string describe(const loader::LoadedVersion &v) {
    return fmt::format("{} {} as version #{} (sha256 {}, ABI {}.{})", v.record.name, v.record.version, v.record.id,
                       short_hash(v.record.content_hash), v.record.abi_major, v.record.abi_minor);
}

} // namespace

namespace {

nlohmann::json audit_details(const loader::LoadedVersion &v) {
    return {{"version", v.record.version}, {"version_id", v.record.id}, {"content_sha256", v.record.content_hash}, {"source", v.record.source_path}};
}

} // namespace

Expected<std::string> handle_plugin_request(loader::PluginHost &host, const nlohmann::json &request, patches::AuditLog *audit) {
    if (!request.is_object() || !request.contains("op") || !request["op"].is_string())
        return Status(Errc::invalid_argument, "request must be a JSON object with an \"op\" string");
    const std::string op = request["op"];
    auto text = [&](const char *field) -> std::string {
        auto it = request.find(field);
        return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string who = text("who").empty() ? "unknown" : text("who");
    if (op == "plugin.list") return list(host);
    if (op == "plugin.history") {
        if (text("name").empty()) return Status(Errc::invalid_argument, "plugin.history needs a \"name\"");
        return history(host, text("name"));
    }
    if (op == "plugin.load") {
        if (text("file").empty()) return Status(Errc::invalid_argument, "plugin.load needs a \"file\"");
        auto loaded = host.load(text("file"), who);
        if (!loaded) return loaded.error();
        if (audit != nullptr) (void)audit->append(who, "plugin-load", loaded->record.name, audit_details(*loaded));
        return "loaded " + describe(*loaded) + ", active\n";
    }
    if (op == "plugin.rollback") {
        if (text("name").empty()) return Status(Errc::invalid_argument, "plugin.rollback needs a \"name\"");
        std::optional<std::string> to;
        if (!text("to").empty()) to = text("to");
        auto rolled = host.rollback(text("name"), to, who);
        if (!rolled) return rolled.error();
        if (audit != nullptr) (void)audit->append(who, "plugin-rollback", rolled->record.name, audit_details(*rolled));
        return "rolled back to " + describe(*rolled) + "\n";
    }
    return Status(Errc::invalid_argument, "unknown operation \"" + op + "\"");
}

} // namespace aicache::server
