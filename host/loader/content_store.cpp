#include "loader/content_store.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"

#include <system_error>

namespace aicache::loader {

std::filesystem::path ContentStore::path_for(const std::string &content_hash) const {
    return root_ / (content_hash + ".so");
}

Expected<StoredLibrary> ContentStore::put(const std::filesystem::path &source, const std::optional<std::string> &expected_hash) const {
    auto bytes = read_file(source);
    if (!bytes) return bytes.error();
    StoredLibrary stored;
    stored.content_hash = sha256_hex(*bytes);
    if (expected_hash && *expected_hash != stored.content_hash)
        return Status(Errc::busy, source.string() + " changed between its qualification and its loading: run the command again");
    stored.path = path_for(stored.content_hash);
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) return Status(Errc::io, root_.string() + ": cannot create plugin store: " + ec.message());
    if (!std::filesystem::exists(stored.path, ec)) {
        if (Status written = write_file_atomic(stored.path, *bytes); !written) return written;
        std::filesystem::permissions(stored.path, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                                      std::filesystem::perms::others_read | std::filesystem::perms::owner_exec,
                                     ec);
    }
    stored.bytes = std::move(bytes.value());
    return stored;
}

} // namespace aicache::loader
