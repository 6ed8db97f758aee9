#include "loader/content_store.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"

#include <system_error>

namespace aicache::loader {

std::filesystem::path ContentStore::path_for(const std::string &content_hash) const {
    return root_ / (content_hash + ".so");
}

Expected<StoredLibrary> read_library(const std::filesystem::path &file, const std::optional<std::string> &expected_hash) {
    auto bytes = read_file(file);
    if (!bytes) return bytes.error();
    StoredLibrary read{sha256_hex(*bytes), std::filesystem::absolute(file), std::move(bytes.value())};
    if (expected_hash && *expected_hash != read.content_hash)
        return Status(Errc::busy, file.string() + " changed between its qualification and its loading: run the command again");
    return read;
}

Expected<StoredLibrary> ContentStore::put(const std::filesystem::path &source, const std::optional<std::string> &expected_hash) const {
    auto read = read_library(source, expected_hash);
    if (!read) return read.error();
    StoredLibrary stored = std::move(read.value());
    stored.path = path_for(stored.content_hash);
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) return Status(Errc::io, root_.string() + ": cannot create plugin store: " + ec.message());
    if (!std::filesystem::exists(stored.path, ec)) {
        if (Status written = write_file_atomic(stored.path, stored.bytes); !written) return written;
        std::filesystem::permissions(stored.path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                                      std::filesystem::perms::others_read | std::filesystem::perms::owner_exec,
                                     ec);
    }
    return stored;
}

} // namespace aicache::loader
