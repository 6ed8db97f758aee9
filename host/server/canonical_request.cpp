#include "server/canonical_request.hpp"

#include "core/hash.hpp"

#include <cmath>
#include <cstdio>
#include <cctype>

namespace aicache::server {
namespace {

// Fields that never change what the model answers.
bool ignored_field(const std::string &name) {
    return name == "stream" || name == "stream_options" || name == "user" || name == "aicache" || name == "metadata" ||
           name == "store";
}

// 0 and 0.0 must give one key: integral floats become integers, recursively.
void normalize_numbers(nlohmann::json &value) {
    if (value.is_number_float()) {
        double d = value.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) value = static_cast<int64_t>(d);
    } else if (value.is_structured()) {
        for (auto &child : value) normalize_numbers(child);
    }
}

// [A-Za-z0-9_.-]{1,64}, checked by hand: this runs on every request, std::regex costs microseconds.
bool valid_tenant(std::string_view tenant) {
    if (tenant.empty() || tenant.size() > 64) return false;
    for (char c : tenant)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

// The last user message's text (a string, or the text parts of a content array), and where it is.
std::string last_user_text(nlohmann::json &messages, nlohmann::json **where) {
    *where = nullptr;
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        if (!it->is_object() || it->value("role", "") != "user" || !it->contains("content")) continue;
        nlohmann::json &content = (*it)["content"];
        std::string text;
        if (content.is_string()) text = content.get<std::string>();
        else if (content.is_array())
            for (const auto &part : content)
                if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string())
                    text += (text.empty() ? "" : "\n") + part["text"].get<std::string>();
        *where = &content;
        return text;
    }
    return {};
}

// The users' texts and a completion's prompt, rewritten by the configured canonicalization.
void canonicalize_prompts(nlohmann::json &key, const cache::PromptCanon &canon) {
    if (key.contains("prompt") && key["prompt"].is_string()) key["prompt"] = canon.apply(key["prompt"].get<std::string>());
    if (!key.contains("messages") || !key["messages"].is_array()) return;
    for (auto &m : key["messages"]) {
        if (!m.is_object() || m.value("role", "") != "user" || !m.contains("content")) continue;
        auto &content = m["content"];
        if (content.is_string()) content = canon.apply(content.get<std::string>());
        else if (content.is_array())
            for (auto &part : content)
                if (part.is_object() && part.contains("text") && part["text"].is_string()) part["text"] = canon.apply(part["text"].get<std::string>());
    }
}

bool lower_contains(std::string_view haystack, std::string_view needle) {
    std::string lower(haystack);
    for (char &c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find(needle) != std::string::npos;
}

} // namespace

std::string key_hex(uint64_t hash) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

Expected<CanonicalRequest> canonicalize(std::string_view endpoint, nlohmann::json body, std::string_view tenant_header,
                                        std::string_view cache_control, const CanonicalOptions &options) {
    auto invalid = [](const std::string &message) { return Status(Errc::invalid_argument, message); };
    if (!body.is_object()) return invalid("the request body must be a JSON object");
    if (!body.contains("model") || !body["model"].is_string()) return invalid("'model' is required and must be a string");
    if (endpoint == "chat/completions") {
        if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
            return invalid("'messages' is required and must be a non-empty array");
    } else if (endpoint == "completions") {
        if (!body.contains("prompt")) return invalid("'prompt' is required");
    } else {
        return invalid("unknown endpoint " + std::string(endpoint));
    }

    CanonicalRequest request;
    request.endpoint = std::string(endpoint);
    request.stream = body.value("stream", false) == true;

    // The aicache extension: {"aicache": {"cache": false, "tenant": "...", "ttl": 3600}}, never forwarded.
    std::string tenant(tenant_header);
    if (auto ext = body.find("aicache"); ext != body.end()) {
        if (!ext->is_object()) return invalid("'aicache' must be an object");
        if (ext->contains("cache") && (*ext)["cache"] == false) {
            request.read_cache = request.write_cache = false;
            request.bypass_reason = "request asked for no caching";
        }
        if (ext->contains("tenant")) {
            if (!(*ext)["tenant"].is_string()) return invalid("'aicache.tenant' must be a string");
            tenant = (*ext)["tenant"].get<std::string>();
        }
        if (ext->contains("ttl")) {
            const auto &ttl = (*ext)["ttl"];
            if (!ttl.is_number_integer() || ttl.get<int64_t>() < 0) return invalid("'aicache.ttl' must be a non-negative integer (seconds)");
            request.ttl_seconds = static_cast<uint64_t>(ttl.get<int64_t>());
        }
    }
    if (tenant.empty()) tenant = options.default_tenant;
    if (!valid_tenant(tenant)) return invalid("tenant '" + tenant + "' must match [A-Za-z0-9_.-]{1,64}");
    request.tenant = tenant;

    if (lower_contains(cache_control, "no-store")) {
        request.read_cache = request.write_cache = false;
        request.bypass_reason = "Cache-Control: no-store";
    } else if (lower_contains(cache_control, "no-cache")) {
        request.read_cache = false;
        request.bypass_reason = "Cache-Control: no-cache";
    }

    // Sampling makes answers differ on purpose: only cache them when configured to.
    double temperature = 1.0; // OpenAI's default when the field is absent
    if (auto t = body.find("temperature"); t != body.end() && t->is_number()) temperature = t->get<double>();
    if (temperature > 0 && !options.cache_sampled && request.write_cache) {
        request.read_cache = request.write_cache = false;
        request.bypass_reason = "temperature > 0 (set cache_sampled to cache sampled answers)";
    }

    nlohmann::json key = nlohmann::json::object();
    for (auto it = body.begin(); it != body.end(); ++it)
        if (!ignored_field(it.key())) key[it.key()] = it.value();
    if (!options.prompt_canon.empty()) canonicalize_prompts(key, options.prompt_canon);
    normalize_numbers(key);
    nlohmann::json envelope = {{"endpoint", request.endpoint}, {"tenant", request.tenant}, {"request", std::move(key)}};
    request.key = envelope.dump();
    request.hash = hash_key(request.key);

    // The semantic scope: the same envelope with the question blanked out.
    nlohmann::json &blanked = envelope["request"];
    if (request.endpoint == "chat/completions" && blanked.contains("messages") && blanked["messages"].is_array()) {
        nlohmann::json *where = nullptr;
        request.question = last_user_text(blanked["messages"], &where);
        if (where != nullptr) *where = "<question>";
    } else if (request.endpoint == "completions" && blanked.contains("prompt") && blanked["prompt"].is_string()) {
        request.question = blanked["prompt"].get<std::string>();
        blanked["prompt"] = "<question>";
    }
    if (!request.question.empty()) request.semantic_scope = hash_key(envelope.dump());

    body.erase("aicache");
    request.upstream_body = std::move(body);
    return request;
}

} // namespace aicache::server
