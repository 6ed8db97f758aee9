#include "core/hash.hpp"

#include <sodium.h>
#include <xxhash.h>

namespace aicache {

uint64_t hash_key(std::string_view bytes) noexcept { return XXH3_64bits(bytes.data(), bytes.size()); }

uint64_t hash64(std::string_view bytes, uint64_t seed) noexcept { return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed); }

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

} // namespace aicache
