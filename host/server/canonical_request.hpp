// Turns an OpenAI-style request into its cache key and caching decision. The key is the request
// minus what cannot change the answer (streaming, user ids, the aicache extension), as canonical
// JSON (sorted keys, integral floats written as integers), plus the endpoint and the tenant.
#pragma once

#include "cache/prompt_canon.hpp"
#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace aicache::server {

struct CanonicalOptions {
    bool cache_sampled = false;     // cache requests whose temperature is > 0 (or absent: OpenAI's default is 1)
    std::string default_tenant = "default";
    // Applied to the users' texts (and a completion's prompt) in the key only: what is forwarded
    // upstream is the request as sent. `aicache optimize run canon --measure pairs` chooses it.
    cache::PromptCanon prompt_canon;
};

struct CanonicalRequest {
    std::string endpoint;          // "chat/completions" or "completions"
    std::string tenant;
    std::string key;               // canonical bytes; hash_key(key) is the cache key
    uint64_t hash = 0;
    bool stream = false;
    bool read_cache = true;        // false: bypass the lookup
    bool write_cache = true;       // false: do not store the answer
    std::string bypass_reason;     // why read or write is off, for logs and the x-aicache header
    uint64_t ttl_seconds = 0;      // from the request's aicache extension; 0: none given
    nlohmann::json upstream_body;  // what to forward: the body without the aicache extension
    // Semantic matching: the words a paraphrase may change (the last user message's text, or a
    // string prompt), and everything that must be equal for a cached answer to be a candidate (the
    // key with that text blanked: endpoint, tenant, model, parameters, system prompt and earlier
    // turns), hashed. A follow-up question in another conversation has another scope.
    std::string question;          // empty: no semantic matching for this request
    uint64_t semantic_scope = 0;
};

// endpoint: "chat/completions" | "completions". tenant_header / cache_control: header values or "".
// Errors (Errc::invalid_argument) carry a message fit for an OpenAI-style error response.
Expected<CanonicalRequest> canonicalize(std::string_view endpoint, nlohmann::json body, std::string_view tenant_header,
                                        std::string_view cache_control, const CanonicalOptions &options);

// The hex form of a key hash, as shown in the x-aicache-key header and `aicache list`.
std::string key_hex(uint64_t hash);

} // namespace aicache::server
