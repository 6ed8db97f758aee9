#include "server/cache_api.hpp"

#include "core/hash.hpp"
#include "server/canonical_request.hpp"

#include <sodium.h>

#include <charconv>
#include <cstring>
#include <optional>

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

std::optional<uint64_t> hex_u64(const nlohmann::json &request, const char *field) {
    if (!request.contains(field) || !request[field].is_string()) return std::nullopt;
    const std::string text = request[field].get<std::string>();
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

nlohmann::json candidate_json(const cache::SemanticCandidate &c) {
    return {{"scope", key_hex(c.scope)}, {"key_hash", key_hex(c.key_hash)}, {"cached_question", c.cached_question}, {"question", c.question},
            {"similarity", c.similarity}, {"score", c.score}, {"decision", c.serve ? "served" : "explored: " + c.why}};
}

Expected<cache::SemanticCandidate> candidate_of(const nlohmann::json &j) {
    auto scope = hex_u64(j, "scope"), key = hex_u64(j, "key_hash");
    if (!j.is_object() || !scope || !key || !j.contains("score") || !j["score"].is_number())
        return Status(Errc::invalid_argument, "cache.outcome needs the \"candidate\" cache.get answered (scope, key_hash, score, questions)");
    cache::SemanticCandidate c;
    c.scope = *scope;
    c.key_hash = *key;
    c.score = j["score"].get<float>();
    c.similarity = j.value("similarity", c.score);
    c.cached_question = j.value("cached_question", "");
    c.question = j.value("question", "");
    return c;
}

// An exact miss: a paraphrase of the question cached in the same scope, served when the
// threshold learner lets it be, else returned as a candidate to explore.
Expected<nlohmann::json> semantic_get(cache::DurableCache &cache, const nlohmann::json &request, cache::SemanticMatcher &matcher) {
    auto scope = hex_u64(request, "scope");
    if (!scope) return Status(Errc::invalid_argument, "cache.get with a \"question\" needs its \"scope\" (hex)");
    auto found = matcher.find(*scope, request["question"].get<std::string>());
    if (!found) return found.error();
    if (!*found) return nlohmann::json{{"hit", false}};
    const cache::SemanticCandidate &c = **found;
    cache::KeyView candidate_key{c.key_hash, c.canonical_key};
    if (c.serve) {
        auto hit = cache.lookup(candidate_key, now_us());
        if (hit.hit) return nlohmann::json{{"hit", true}, {"semantic", true}, {"value_b64", to_base64(hit.value())}, {"candidate", candidate_json(c)}};
    } else {
        auto cached = cache.peek(candidate_key, now_us());
        if (cached.hit)
            return nlohmann::json{{"hit", false}, {"candidate", candidate_json(c)}, {"cached_value_b64", to_base64(cached.value())}};
    }
    (void)matcher.forget(c.scope, c.key_hash); // evicted or expired since it was indexed
    return nlohmann::json{{"hit", false}};
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

Expected<nlohmann::json> handle_cache_request(cache::DurableCache &cache, const nlohmann::json &request, cache::SemanticMatcher *matcher) {
    const std::string op = request.value("op", "");
    if (op == "cache.outcome") {
        if (matcher == nullptr) return Status(Errc::invalid_argument, "cache.outcome: this cache does no semantic matching");
        if (!request.contains("right") || !request["right"].is_boolean()) return Status(Errc::invalid_argument, "cache.outcome needs \"right\": true|false");
        auto candidate = candidate_of(request.value("candidate", nlohmann::json()));
        if (!candidate) return candidate.error();
        if (Status told = matcher->outcome(*candidate, request["right"].get<bool>()); !told) return told;
        return nlohmann::json{{"recorded", true}};
    }
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
        if (found.hit) return nlohmann::json{{"hit", true}, {"value_b64", to_base64(found.value())}};
        if (matcher != nullptr && request.contains("question") && request["question"].is_string() && !request["question"].get<std::string>().empty())
            return semantic_get(cache, request, *matcher);
        return nlohmann::json{{"hit", false}};
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
        nlohmann::json answer_json = {{"outcome", outcome}, {"key_hash", key_hex(view.hash)}};
        auto scope = hex_u64(request, "scope");
        if (result == cache::StoreResult::stored && matcher != nullptr && scope && request.contains("question") && request["question"].is_string() &&
            !request["question"].get<std::string>().empty()) {
            // The answer is stored either way: a question that could not be indexed only costs later paraphrase hits.
            Status indexed = matcher->remember(*scope, view.hash, key, request["question"].get<std::string>());
            answer_json["indexed"] = indexed ? "yes" : indexed.message();
        }
        return answer_json;
    }
    return Status(Errc::invalid_argument, "unknown operation \"" + op + "\"");
}

} // namespace aicache::server
