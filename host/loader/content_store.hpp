// Content-addressed copies of plugin libraries: <root>/<sha256>.so, written once, never changed.
// dlopen caches libraries by path, so loading two builds of one plugin from the same path would
// silently return the first; loading from the content address makes every build its own path,
// and keeps every version on disk so a rollback works after a restart.
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace aicache::loader {

struct StoredLibrary {
    std::string content_hash;   // hex SHA-256 of the bytes
    std::filesystem::path path; // where the immutable copy lives
    std::string bytes;          // the file's bytes, for inspection before loading
};

// Reads a library file to load or store it: its bytes and their hash, at its absolute path. With
// `expected_hash` (the bytes its qualification passed), other bytes are refused with Errc::busy:
// the file was replaced since, and what was checked is not what would be mapped.
Expected<StoredLibrary> read_library(const std::filesystem::path &file, const std::optional<std::string> &expected_hash = std::nullopt);

class ContentStore {
public:
    explicit ContentStore(std::filesystem::path root) : root_(std::move(root)) {}

    // Copies `source` in once (read_library: with `expected_hash`, other bytes are refused and
    // nothing is written).
    Expected<StoredLibrary> put(const std::filesystem::path &source, const std::optional<std::string> &expected_hash = std::nullopt) const;
    [[nodiscard]] std::filesystem::path path_for(const std::string &content_hash) const;
    [[nodiscard]] const std::filesystem::path &root() const { return root_; }

private:
    std::filesystem::path root_;
};

} // namespace aicache::loader
