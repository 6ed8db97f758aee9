#include "store/plugin_versions.hpp"

#include <chrono>
#include <ctime>

namespace aicache::store {
namespace {

const char *kColumns = "v.id, v.name, v.kind, v.version, v.content_hash, v.state_format, v.source_path, v.loaded_at, "
                       "v.loaded_by, v.abi_major, v.abi_minor";

PluginVersionRecord from_row(const SqlRow &row, size_t at = 0) {
    PluginVersionRecord r;
    r.id = as_int(row[at]);
    r.name = as_text(row[at + 1]);
    r.kind = as_text(row[at + 2]);
    r.version = as_text(row[at + 3]);
    r.content_hash = as_text(row[at + 4]);
    r.state_format = as_text(row[at + 5]);
    r.source_path = as_text(row[at + 6]);
    r.loaded_at = as_text(row[at + 7]);
    r.loaded_by = as_text(row[at + 8]);
    r.abi_major = static_cast<int>(as_int(row[at + 9]));
    r.abi_minor = static_cast<int>(as_int(row[at + 10]));
    return r;
}

} // namespace

std::string utc_now_iso8601() {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[64];
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return text;
}

Expected<std::vector<PluginVersionRecord>> PluginVersions::select(const std::string &where, const std::vector<SqlValue> &params) {
    auto rows = db_.query(std::string("SELECT ") + kColumns + " FROM plugin_versions v " + where, params);
    if (!rows) return rows.error();
    std::vector<PluginVersionRecord> out;
    for (const auto &row : *rows) out.push_back(from_row(row));
    return out;
}

Expected<PluginVersionRecord> PluginVersions::record(PluginVersionRecord v) {
    auto existing = select("WHERE v.name = ? AND v.content_hash = ?", {v.name, v.content_hash});
    if (!existing) return existing.error();
    if (!existing->empty()) return existing->front();
    v.loaded_at = utc_now_iso8601();
    auto inserted = db_.query("INSERT INTO plugin_versions(name, kind, version, abi_major, abi_minor, content_hash, "
                              "state_format, source_path, loaded_at, loaded_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
                              {v.name, v.kind, v.version, int64_t(v.abi_major), int64_t(v.abi_minor), v.content_hash,
                               v.state_format, v.source_path, v.loaded_at, v.loaded_by});
    if (!inserted) return inserted.error();
    v.id = db_.last_insert_id();
    return v;
}

Status PluginVersions::activate(int64_t version_id, const std::string &action, const std::string &by, const std::string &note) {
    if (Status s = db_.exec("BEGIN IMMEDIATE"); !s) return s;
    auto step = [&]() -> Status {
        auto name = db_.query("SELECT name FROM plugin_versions WHERE id = ?", {version_id});
        if (!name) return name.error();
        if (name->empty()) return Status(Errc::not_found, "no plugin version #" + std::to_string(version_id));
        std::string plugin = as_text(name->front()[0]);
        auto upsert = db_.query("INSERT INTO plugin_active(name, version_id) VALUES (?, ?) "
                                "ON CONFLICT(name) DO UPDATE SET version_id = excluded.version_id",
                                {plugin, version_id});
        if (!upsert) return upsert.error();
        auto event = db_.query("INSERT INTO plugin_events(name, version_id, action, at, by, note) VALUES (?,?,?,?,?,?)",
                               {plugin, version_id, action, utc_now_iso8601(), by, note});
        return event ? Status::ok() : event.error();
    }();
    if (!step) {
        (void)db_.exec("ROLLBACK");
        return step;
    }
    return db_.exec("COMMIT");
}

Expected<std::vector<PluginVersionRecord>> PluginVersions::active() {
    return select("JOIN plugin_active a ON a.version_id = v.id ORDER BY v.name", {});
}

Expected<std::optional<PluginVersionRecord>> PluginVersions::active(const std::string &name) {
    auto rows = select("JOIN plugin_active a ON a.version_id = v.id WHERE a.name = ?", {name});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<PluginVersionRecord>();
    return std::optional<PluginVersionRecord>(rows->front());
}

Expected<std::vector<PluginEvent>> PluginVersions::history(const std::string &name) {
    auto rows = db_.query(std::string("SELECT e.id, e.name, e.action, e.at, e.by, e.note, ") + kColumns +
                              " FROM plugin_events e JOIN plugin_versions v ON v.id = e.version_id WHERE e.name = ? ORDER BY e.id",
                          {name});
    if (!rows) return rows.error();
    std::vector<PluginEvent> out;
    for (const auto &row : *rows) {
        PluginEvent e;
        e.id = as_int(row[0]);
        e.name = as_text(row[1]);
        e.action = as_text(row[2]);
        e.at = as_text(row[3]);
        e.by = as_text(row[4]);
        e.note = as_text(row[5]);
        e.version = from_row(row, 6);
        out.push_back(std::move(e));
    }
    return out;
}

Expected<PluginVersionRecord> PluginVersions::resolve(const std::string &name, const std::string &spec) {
    std::string id_text = !spec.empty() && spec[0] == '#' ? spec.substr(1) : spec;
    if (!id_text.empty() && id_text.size() < 6 && id_text.find_first_not_of("0123456789") == std::string::npos) {
        auto by_id = select("WHERE v.name = ? AND v.id = ?", {name, int64_t(std::stoll(id_text))});
        if (!by_id) return by_id.error();
        if (!by_id->empty()) return by_id->front();
    }
    if (spec.size() >= 6 && spec.find_first_not_of("0123456789abcdef") == std::string::npos) {
        auto by_hash = select("WHERE v.name = ? AND v.content_hash LIKE ? ORDER BY v.id", {name, spec + "%"});
        if (!by_hash) return by_hash.error();
        if (by_hash->size() == 1) return by_hash->front();
        if (by_hash->size() > 1)
            return Status(Errc::invalid_argument, "hash prefix " + spec + " matches " + std::to_string(by_hash->size()) +
                                                      " versions of " + name + ": give more digits");
    }
    auto by_version = select("WHERE v.name = ? AND v.version = ? ORDER BY v.id DESC", {name, spec});
    if (!by_version) return by_version.error();
    if (!by_version->empty()) return by_version->front();
    return Status(Errc::not_found, "plugin " + name + " has no version \"" + spec +
                                       "\" (give a record id, a content-hash prefix or a version string; see `aicache plugin history " +
                                       name + "`)");
}

Expected<PluginVersionRecord> PluginVersions::previous(const std::string &name) {
    auto current = active(name);
    if (!current) return current.error();
    if (!*current) return Status(Errc::not_found, "plugin " + name + " has no active version");
    // Walk activations newest first: the first one naming another version is what ran before.
    auto rows = db_.query("SELECT version_id FROM plugin_events WHERE name = ? AND action IN ('activate', 'rollback') "
                          "ORDER BY id DESC",
                          {name});
    if (!rows) return rows.error();
    for (const auto &row : *rows) {
        int64_t id = as_int(row[0]);
        if (id == (*current)->id) continue;
        auto found = select("WHERE v.id = ?", {id});
        if (!found) return found.error();
        if (!found->empty()) return found->front();
    }
    return Status(Errc::not_found, "plugin " + name + " has no earlier version to roll back to");
}

} // namespace aicache::store
