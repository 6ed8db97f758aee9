// Operator keys: ed25519 (libsodium). An operator's secret key signs approvals, rejections and
// rollbacks; the host trusts the public keys in <data>/operators/*.pub. Keys are one-line text
// files: "aicache-operator-secret-v1 NAME HEX" (mode 0600) and "aicache-operator-public-v1 NAME HEX".
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::patches {

struct OperatorPublicKey {
    std::string name;
    std::string key_hex; // 32 bytes
};

struct OperatorKey {
    std::string name;
    std::string public_hex;
    std::string secret; // 64 raw bytes

    static OperatorKey generate(const std::string &name);
    static Expected<OperatorKey> load(const std::filesystem::path &secret_file);
    // Writes NAME.key (0600) and NAME.pub into dir; refuses to overwrite an existing key.
    Status save(const std::filesystem::path &dir) const;
    // Hex signature of `message`.
    [[nodiscard]] std::string sign(std::string_view message) const;
};

Expected<OperatorPublicKey> load_public_key(const std::filesystem::path &file);
// Every *.pub in dir (none when it does not exist).
Expected<std::vector<OperatorPublicKey>> trusted_keys(const std::filesystem::path &dir);
bool verify_signature(const std::string &public_hex, std::string_view message, const std::string &signature_hex);

} // namespace aicache::patches
