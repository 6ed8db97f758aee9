// Hashes: a fast non-cryptographic one for cache keys, SHA-256 for content addressing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aicache {

// 64-bit XXH3 of the canonical key bytes: the hash every policy sees as the entry's key.
uint64_t hash_key(std::string_view bytes) noexcept;
// 64-bit XXH3 with a seed: for hashing features and splits, where the seed picks the function.
uint64_t hash64(std::string_view bytes, uint64_t seed) noexcept;

// Lower-case hex SHA-256 (libsodium), the name of a file in the content-addressed store.
std::string sha256_hex(std::string_view bytes);

} // namespace aicache
