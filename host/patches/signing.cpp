#include "patches/signing.hpp"

#include "core/files.hpp"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace aicache::patches {
namespace {

constexpr const char *kSecretTag = "aicache-operator-secret-v1";
constexpr const char *kPublicTag = "aicache-operator-public-v1";

std::string to_hex(std::string_view bytes) {
    std::string hex(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size());
    hex.pop_back();
    return hex;
}

std::optional<std::string> from_hex(const std::string &hex, size_t expected_bytes) {
    std::string bytes(expected_bytes, '\0');
    size_t length = 0;
    if (sodium_hex2bin(reinterpret_cast<unsigned char *>(bytes.data()), bytes.size(), hex.c_str(), hex.size(), nullptr, &length, nullptr) != 0 ||
        length != expected_bytes)
        return std::nullopt;
    return bytes;
}

// "TAG NAME HEX" -> name and hex, checked.
Expected<std::pair<std::string, std::string>> parse_key_file(const std::filesystem::path &file, const char *tag) {
    auto text = read_file(file);
    if (!text) return text.error();
    std::istringstream in(*text);
    std::string got_tag, name, hex;
    in >> got_tag >> name >> hex;
    if (got_tag != tag || name.empty() || hex.empty())
        return Status(Errc::invalid_argument, file.string() + ": not an aicache operator key file (expected \"" + tag + " NAME HEX\")");
    return std::make_pair(name, hex);
}

} // namespace

OperatorKey OperatorKey::generate(const std::string &name) {
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(public_key, secret_key);
    OperatorKey key;
    key.name = name;
    key.public_hex = to_hex(std::string_view(reinterpret_cast<char *>(public_key), sizeof public_key));
    key.secret.assign(reinterpret_cast<char *>(secret_key), sizeof secret_key);
    sodium_memzero(secret_key, sizeof secret_key);
    return key;
}

Expected<OperatorKey> OperatorKey::load(const std::filesystem::path &secret_file) {
    auto parsed = parse_key_file(secret_file, kSecretTag);
    if (!parsed) return parsed.error();
    auto secret = from_hex(parsed->second, crypto_sign_SECRETKEYBYTES);
    if (!secret) return Status(Errc::invalid_argument, secret_file.string() + ": the secret key is not 64 bytes of hex");
    OperatorKey key;
    key.name = parsed->first;
    key.secret = *secret;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_ed25519_sk_to_pk(public_key, reinterpret_cast<const unsigned char *>(key.secret.data()));
    key.public_hex = to_hex(std::string_view(reinterpret_cast<char *>(public_key), sizeof public_key));
    return key;
}

Status OperatorKey::save(const std::filesystem::path &dir) const {
    static const std::regex valid_name("[A-Za-z0-9_.-]{1,64}");
    if (!std::regex_match(name, valid_name)) return Status(Errc::invalid_argument, "operator name \"" + name + "\": letters, digits, _ . - only");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const auto secret_file = dir / (name + ".key");
    if (std::filesystem::exists(secret_file, ec)) return Status(Errc::invalid_argument, secret_file.string() + " exists: not overwriting a key");
    const std::string secret_line = std::string(kSecretTag) + " " + name + " " + to_hex(secret) + "\n";
    int fd = ::open(secret_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status(Errc::io, "cannot create " + secret_file.string() + ": " + std::strerror(errno));
    bool ok = ::write(fd, secret_line.data(), secret_line.size()) == static_cast<ssize_t>(secret_line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Status(Errc::io, "cannot write " + secret_file.string());
    return write_file_atomic(dir / (name + ".pub"), std::string(kPublicTag) + " " + name + " " + public_hex + "\n");
}

std::string OperatorKey::sign(std::string_view message) const {
    unsigned char signature[crypto_sign_BYTES];
    crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char *>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char *>(secret.data()));
    return to_hex(std::string_view(reinterpret_cast<char *>(signature), sizeof signature));
}

Expected<OperatorPublicKey> load_public_key(const std::filesystem::path &file) {
    auto parsed = parse_key_file(file, kPublicTag);
    if (!parsed) return parsed.error();
    if (!from_hex(parsed->second, crypto_sign_PUBLICKEYBYTES))
        return Status(Errc::invalid_argument, file.string() + ": the public key is not 32 bytes of hex");
    return OperatorPublicKey{parsed->first, parsed->second};
}

Expected<std::vector<OperatorPublicKey>> trusted_keys(const std::filesystem::path &dir) {
    std::vector<OperatorPublicKey> keys;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return keys;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() != ".pub") continue;
        auto key = load_public_key(entry.path());
        if (!key) return key.error();
        keys.push_back(*key);
    }
    return keys;
}

bool verify_signature(const std::string &public_hex, std::string_view message, const std::string &signature_hex) {
    auto key = from_hex(public_hex, crypto_sign_PUBLICKEYBYTES);
    auto signature = from_hex(signature_hex, crypto_sign_BYTES);
    if (!key || !signature) return false;
    return crypto_sign_verify_detached(reinterpret_cast<const unsigned char *>(signature->data()),
                                       reinterpret_cast<const unsigned char *>(message.data()), message.size(),
                                       reinterpret_cast<const unsigned char *>(key->data())) == 0;
}

} // namespace aicache::patches
