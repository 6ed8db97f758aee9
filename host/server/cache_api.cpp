#include "server/cache_api.hpp"

#include "core/hash.hpp"
#include "server/canonical_request.hpp"

#include <sodium.h>

#include <cstring>

#include <chrono>

namespace aicache::server {
namespace {

uint64_t now_us() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

nlohmann::json describe(const store::StoredAnswer &a, bool with_value) {
    nlohmann::json row = {{"key_hash", key_hex(a.key_hash)}, {"tenant", a.tenant},   {"kind", a.kind},
                          {"size_bytes", a.size_bytes},      {"cost", a.cost},       {"created_at_us", a.created_at_us},
                          {"expires_at_us", a.expires_at_us}, {"key", a.key}};
    if (with_value) row["value_b64"] = to_base64(a.value);
    return row;
}

store::StoreFilter filter_of(const nlohmann::json &request) {
    store::StoreFilter filter;
    filter.tenant = request.value("tenant", "");
    filter.older_than_us = request.value("older_than_us", uint64_t(0));
    return filter;
}

} // namespace

std::string to_base64(std::string_view bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char *>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

Expected<std::string> from_base64(std::string_view text) {
    std::string out(text.size() / 4 * 3 + 3, '\0');
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char *>(out.data()), out.size(), text.data(), text.size(), nullptr, &length,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return Status(Errc::invalid_argument, "value is not valid base64");
    out.resize(length);
    return out;
}

Expected<nlohmann::json> handle_cache_request(cache::DurableCache &cache, const nlohmann::json &request) {
    const std::string op = request.value("op", "");
    if (op == "cache.stats") {
        cache::CacheStats s = cache.memory().stats();
        auto rows = cache.durable().list({}, false);
        if (!rows) return rows.error();
        nlohmann::json by_tenant = nlohmann::json::object();
        uint64_t stored_bytes = 0;
        for (const auto &r : *rows) {
            auto &t = by_tenant[r.tenant];
            if (t.is_null()) t = {{"entries", uint64_t(0)}, {"bytes", uint64_t(0)}};
            t["entries"] = t["entries"].get<uint64_t>() + 1;
            t["bytes"] = t["bytes"].get<uint64_t>() + r.size_bytes;
            stored_bytes += r.size_bytes;
        }
        return nlohmann::json{{"policy", cache.memory().policy()->facts().name},
                              {"policy_version", cache.memory().policy()->facts().version},
                              {"policy_sha256", cache.memory().policy()->facts().content_hash},
                              {"lookups", s.lookups},
                              {"hits", s.hits},
                              {"inserts", s.inserts},
                              {"evictions", s.evictions},
                              {"entries", s.entries},
                              {"bytes_used", s.bytes_used},
                              {"capacity_bytes", s.capacity_bytes},
                              {"policy_errors", s.policy_errors},
                              {"warm_swaps", s.warm_swaps},
                              {"cold_swaps", s.cold_swaps},
                              {"stored_entries", rows->size()},
                              {"stored_bytes", stored_bytes},
                              {"tenants", by_tenant},
                              {"store", cache.degraded_reason().empty() ? "ok" : "degraded: " + cache.degraded_reason()}};
    }
    if (op == "cache.list") {
        auto rows = cache.durable().list(filter_of(request), false);
        if (!rows) return rows.error();
        nlohmann::json out = nlohmann::json::array();
        for (const auto &r : *rows) out.push_back(describe(r, false));
        return out;
    }
    if (op == "cache.inspect") {
        std::string prefix = request.value("key_hash", "");
        if (prefix.empty()) return Status(Errc::invalid_argument, "cache.inspect needs a \"key_hash\" (hex, a prefix is enough)");
        auto rows = cache.durable().list({}, false);
        if (!rows) return rows.error();
        const store::StoredAnswer *match = nullptr;
        for (const auto &r : *rows) {
            if (key_hex(r.key_hash).rfind(prefix, 0) != 0) continue;
            if (match != nullptr) return Status(Errc::invalid_argument, "key prefix " + prefix + " matches more than one entry: give more digits");
            match = &r;
        }
        if (match == nullptr) return Status(Errc::not_found, "no cached entry with key " + prefix + " (see `aicache list`)");
        auto full = cache.durable().get(match->key_hash);
        if (!full) return full.error();
        if (full->empty()) return Status(Errc::not_found, "entry " + prefix + " was removed meanwhile");
        return describe(full->front(), true);
    }
    if (op == "cache.clear") {
        auto rows = cache.durable().list(filter_of(request), false);
        if (!rows) return rows.error();
        std::vector<uint64_t> hashes;
        std::vector<std::string> keys;
        for (const auto &r : *rows) {
            hashes.push_back(r.key_hash);
            keys.push_back(r.key);
        }
        if (Status removed = cache.remove(hashes, keys); !removed) return removed;
        return nlohmann::json{{"removed", hashes.size()}};
    }

    std::string key = request.value("key", "");
    if (key.empty()) return Status(Errc::invalid_argument, op + " needs a \"key\"");
    cache::KeyView view{hash_key(key), key};
    if (op == "cache.get") {
        auto found = cache.lookup(view, now_us());
        if (!found.hit) return nlohmann::json{{"hit", false}};
        return nlohmann::json{{"hit", true}, {"value_b64", to_base64(found.value())}};
    }
    if (op == "cache.put") {
        auto value = from_base64(request.value("value_b64", ""));
        if (!value) return value.error();
        cache::Answer answer;
        answer.key = key;
        answer.key_hash = view.hash;
        answer.value = *value;
        answer.tenant = request.value("tenant", "default");
        answer.kind = request.value("kind", "raw");
        answer.cost = request.value("cost", uint64_t(0));
        answer.ttl_seconds = request.value("ttl", uint64_t(0));
        cache::StoreResult result = cache.store(answer, now_us());
        const char *outcome = result == cache::StoreResult::stored ? "stored" : result == cache::StoreResult::refused ? "refused" : "not durable";
        return nlohmann::json{{"outcome", outcome}, {"key_hash", key_hex(view.hash)}};
    }
    return Status(Errc::invalid_argument, "unknown operation \"" + op + "\"");
}

} // namespace aicache::server
