#include "loader/qualification_cache.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <map>
#include <mutex>

namespace aicache::loader {
namespace {

// The binary (10 MB here) is hashed once per process, not once per plugin.
std::string binary_hash(const std::filesystem::path &exe) {
    static std::mutex mutex;
    static std::map<std::filesystem::path, std::string> hashes;
    std::lock_guard lock(mutex);
    if (auto known = hashes.find(exe); known != hashes.end()) return known->second;
    auto bytes = read_file(exe);
    std::string hash = bytes ? sha256_hex(*bytes) : "";
    hashes.emplace(exe, hash);
    return hash;
}

} // namespace

std::filesystem::path qualification_cache_dir() {
    if (const char *dir = std::getenv("AICACHE_QUALIFIED_DIR"); dir != nullptr && *dir) return dir;
    if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg) return std::filesystem::path(xdg) / "aicache" / "qualified";
    const char *home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".cache" / "aicache" / "qualified";
}

Verdict qualify_remembered(const std::filesystem::path &file, const QualifyOptions &options, const std::filesystem::path &cache_dir) {
    auto bytes = read_file(file);
    const std::string binary = binary_hash(options.aicache_exe);
    if (!bytes || binary.empty()) return qualify_in_child(file, options); // the child names what is wrong
    const std::string plugin = sha256_hex(*bytes);
    const std::filesystem::path record = cache_dir / (binary.substr(0, 16) + "-" + plugin + ".json");

    if (auto text = read_file(record)) {
        nlohmann::json remembered = nlohmann::json::parse(*text, nullptr, false);
        // A record that does not name both hashes (cut short, edited) is not trusted.
        if (remembered.is_object() && remembered.value("plugin_sha256", "") == plugin && remembered.value("aicache_sha256", "") == binary) {
            spdlog::debug("{}: qualified before (record {})", file.filename().string(), record.string());
            return {Status::ok(), remembered.value("summary", file.filename().string()), plugin};
        }
    }

    Verdict verdict = qualify_in_child(file, options);
    // Only a pass for exactly these bytes is remembered: the child read the file itself.
    if (verdict.status && verdict.content_hash == plugin) {
        std::error_code ec;
        std::filesystem::create_directories(cache_dir, ec);
        const nlohmann::json entry = {{"summary", verdict.summary}, {"plugin_sha256", plugin}, {"aicache_sha256", binary},
                                      {"file", std::filesystem::absolute(file).string()}};
        if (Status saved = write_file_atomic(record, entry.dump() + "\n"); !saved)
            spdlog::debug("qualification of {} not remembered: {}", file.filename().string(), saved.message());
    }
    return verdict;
}

} // namespace aicache::loader
