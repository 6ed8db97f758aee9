#include "server/proxy_server.hpp"

#include "core/hash.hpp"
#include "core/log.hpp"
#include "server/sse.hpp"

// Beast speaks std::string_view (the only translation unit that includes Beast).
#define BOOST_BEAST_USE_STD_STRING_VIEW
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <regex>
#include <thread>

namespace aicache::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
template <class T>
using awaitable = net::awaitable<T>;
using Request = http::request<http::string_body>;

Expected<UpstreamUrl> UpstreamUrl::parse(const std::string &url) {
    static const std::regex pattern(R"(^(https?)://([^/:?#]+)(?::([0-9]{1,5}))?(/[^?#]*)?$)");
    std::smatch m;
    if (!std::regex_match(url, m, pattern))
        return Status(Errc::invalid_argument, "upstream \"" + url + "\": expected http[s]://host[:port][/base/path], e.g. https://api.openai.com/v1");
    UpstreamUrl u;
    u.tls = m[1] == "https";
    u.host = m[2];
    u.port = m[3].matched ? std::string(m[3]) : (u.tls ? "443" : "80");
    u.base_path = m[4].matched ? std::string(m[4]) : "";
    while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
    return u;
}

namespace {

constexpr auto kUse = net::use_awaitable;

uint64_t now_us() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

// OpenAI's error shape, so clients report our errors the way they report theirs.
std::string error_body(const std::string &message, const std::string &type, const std::string &code) {
    return nlohmann::json{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}}.dump();
}

// Tokens a hit saves: the upstream's own count when the stored answer has one.
uint64_t answer_tokens(std::string_view response_json) {
    nlohmann::json response = nlohmann::json::parse(response_json, nullptr, false);
    if (response.is_object() && response.contains("usage") && response["usage"].is_object())
        return response["usage"].value("completion_tokens", uint64_t(0)) + response["usage"].value("prompt_tokens", uint64_t(0));
    return (response_json.size() + 3) / 4; // ~4 bytes a token when the upstream said nothing
}

struct Shared {
    ProxyConfig config;
    UpstreamUrl upstream;
    cache::DurableCache &cache;
    Metrics &metrics;
    std::function<std::string()> describe_plugins;
    net::ssl::context tls{net::ssl::context::tls_client};
    learning::RequestLog *request_log = nullptr; // set before start(); null: no request log
    learning::PerformanceMonitor *monitor = nullptr; // set before start(); null: no windows of figures
    cache::SemanticMatcher *semantic = nullptr;  // set before start(); null: exact matches only
    FeedbackBook feedback{};                     // answers given, awaiting a client's verdict
    std::atomic<int> in_flight{0};               // proxied requests not yet done with their bookkeeping

    uint64_t ttl_for(const CanonicalRequest &request) const {
        if (request.ttl_seconds != 0) return request.ttl_seconds;
        auto it = config.tenant_ttl_seconds.find(request.tenant);
        return it != config.tenant_ttl_seconds.end() ? it->second : config.default_ttl_seconds;
    }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// A complete answer, built before any co_await. Coroutine calls take it by reference from a
// named local: GCC 12 can destroy temporaries in a co_await expression twice, so no call site
// builds strings inside one.
struct Reply {
    http::status status = http::status::ok;
    std::string body;
    std::string content_type = "application/json";
    Headers headers;
};

Reply error_reply(http::status status, const std::string &message, const char *type, const char *code) {
    return Reply{status, error_body(message, type, code), "application/json", {}};
}

awaitable<bool> write(beast::tcp_stream &client, const Request &request, Reply &reply) {
    http::response<http::string_body> response{reply.status, request.version()};
    response.set(http::field::server, "aicache");
    response.set(http::field::content_type, reply.content_type);
    for (const auto &[name, value] : reply.headers) response.set(name, value);
    response.keep_alive(request.keep_alive());
    response.body() = std::move(reply.body);
    response.prepare_payload();
    beast::error_code ec;
    co_await http::async_write(client, response, net::redirect_error(kUse, ec));
    co_return !ec;
}

class ProxyCall {
public:
    ProxyCall(Shared &shared, beast::tcp_stream &client, const Request &request, CanonicalRequest canonical)
        : s_(shared), client_(client), request_(request), canonical_(std::move(canonical)) {}

    awaitable<bool> run() {
        bool keep_alive;
        if (canonical_.read_cache) {
            cache::LookupResult found = s_.cache.lookup(cache::KeyView{canonical_.hash, canonical_.key}, now_us());
            if (found.hit) {
                keep_alive = co_await answer_from_cache(found, "hit");
                record_request();
                co_return keep_alive;
            }
            cache::LookupResult similar = semantic_lookup();
            if (similar.hit) {
                keep_alive = co_await answer_from_cache(similar, "semantic-hit");
                record_request();
                co_return keep_alive;
            }
        }
        keep_alive = co_await forward();
        record_request();
        co_return keep_alive;
    }

private:
    [[nodiscard]] const char *kind() const { return canonical_.read_cache || canonical_.write_cache ? "miss" : "bypass"; }
    [[nodiscard]] Outcome outcome() const { return canonical_.read_cache || canonical_.write_cache ? Outcome::miss : Outcome::bypass; }
    [[nodiscard]] bool chat() const { return canonical_.endpoint == "chat/completions"; }
    Headers cache_headers(const char *kind) const {
        Headers h{{"x-aicache", kind}, {"x-aicache-key", key_hex(canonical_.hash)}};
        if (!canonical_.bypass_reason.empty()) h.emplace_back("x-aicache-bypass-reason", canonical_.bypass_reason);
        if (candidate_) {
            // Which cached question matched, how closely, and what the threshold learner decided.
            h.emplace_back("x-aicache-semantic-of", key_hex(candidate_->key_hash));
            h.emplace_back("x-aicache-semantic-score", std::to_string(candidate_->score));
            h.emplace_back("x-aicache-semantic-decision", candidate_->serve ? "served" : "explored: " + candidate_->why);
        }
        return h;
    }

    // On an exact miss: the best cached paraphrase in the request's scope, when the threshold
    // learner lets it be served. A candidate it does not let through is explored: the upstream
    // answer is compared with the cached one afterwards (see store()).
    cache::LookupResult semantic_lookup() {
        if (s_.semantic == nullptr || canonical_.question.empty()) return {};
        auto found = s_.semantic->find(canonical_.semantic_scope, canonical_.question);
        if (!found) {
            spdlog::warn("semantic matching failed, answering from upstream: {}", found.error().message());
            return {};
        }
        if (!*found) return {};
        candidate_ = std::move(**found);
        if (!candidate_->serve) return {};
        cache::LookupResult hit = s_.cache.lookup(cache::KeyView{candidate_->key_hash, candidate_->canonical_key}, now_us());
        if (!hit.hit) {
            // Evicted or expired since it was indexed: forget it and go upstream.
            (void)s_.semantic->forget(candidate_->scope, candidate_->key_hash);
            candidate_.reset();
        }
        return hit;
    }

    // What a later POST /v1/aicache/feedback about this answer needs (server/feedback.hpp).
    void remember_for_feedback(AnswerKind kind) {
        GivenAnswer given;
        given.kind = kind;
        if (kind == AnswerKind::semantic_hit && candidate_) {
            given.entry_hash = candidate_->key_hash;
            given.scope = candidate_->scope;
            given.candidate = candidate_;
            given.candidate->canonical_key.clear(); // feedback tells the learner; it needs the questions, not the key
        } else {
            given.entry_hash = canonical_.hash;
            given.scope = canonical_.question.empty() ? 0 : canonical_.semantic_scope;
        }
        s_.feedback.remember(canonical_.hash, std::move(given));
    }

    // One record in the request log (learning/request_log.hpp) per answered request.
    void record_request() noexcept {
        if (s_.request_log == nullptr && s_.monitor == nullptr) return;
        learning::RequestRecord r;
        r.time_us = arrived_us_;
        r.key_hash = canonical_.hash;
        r.tenant_hash = hash_key(canonical_.tenant);
        r.size_bytes = static_cast<uint32_t>(std::min<uint64_t>(answer_bytes_, UINT32_MAX));
        r.cost_tokens = static_cast<uint32_t>(std::min<uint64_t>(answer_tokens_, UINT32_MAX));
        r.latency_us = micros_since(arrived_);
        r.upstream_latency_us = upstream_us_;
        r.outcome = logged_outcome_;
        r.source = learning::RequestSource::proxy;
        r.flags = static_cast<uint16_t>((stored_ ? learning::RequestRecord::kStored : 0) | (canonical_.stream ? learning::RequestRecord::kStreamed : 0));
        if (s_.request_log != nullptr) s_.request_log->append(r);
        if (s_.monitor != nullptr) s_.monitor->record(r);
    }
    static uint32_t micros_since(std::chrono::steady_clock::time_point start) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
        return static_cast<uint32_t>(std::clamp<int64_t>(us, 0, UINT32_MAX));
    }
    // The answer a miss brought back: what the log records and a replay would store.
    void note_answer(std::string_view answer, std::chrono::steady_clock::time_point upstream_started) {
        answer_bytes_ = answer.size();
        answer_tokens_ = answer_tokens(answer);
        upstream_us_ = micros_since(upstream_started);
        logged_outcome_ = outcome() == Outcome::miss ? learning::RequestOutcome::miss : learning::RequestOutcome::bypass;
    }

    awaitable<bool> answer_from_cache(const cache::LookupResult &found, const char *kind) {
        logged_outcome_ = std::string_view(kind) == "hit" ? learning::RequestOutcome::hit : learning::RequestOutcome::semantic_hit;
        answer_bytes_ = found.size_bytes;
        answer_tokens_ = found.cost;
        s_.metrics.request(chat(), Outcome::hit);
        s_.metrics.served_from_cache(found.size_bytes, found.cost);
        remember_for_feedback(std::string_view(kind) == "hit" ? AnswerKind::exact_hit : AnswerKind::semantic_hit);
        if (!canonical_.stream) {
            Reply reply{http::status::ok, std::string(found.value()), "application/json", cache_headers(kind)};
            co_return co_await write(client_, request_, reply);
        }
        bool include_usage = canonical_.upstream_body.contains("stream_options") &&
                             canonical_.upstream_body["stream_options"].is_object() &&
                             canonical_.upstream_body["stream_options"].value("include_usage", false);
        auto stream = synthesize_stream(canonical_.endpoint, found.value(), include_usage);
        Reply reply = stream ? Reply{http::status::ok, std::move(stream.value()), "text/event-stream", cache_headers(kind)}
                             : error_reply(http::status::internal_server_error, stream.error().message(), "server_error", "bad_cache_entry");
        if (!stream) s_.metrics.request(chat(), Outcome::error);
        co_return co_await write(client_, request_, reply);
    }

    Reply upstream_failure(const char *what, const beast::error_code &ec) {
        s_.metrics.upstream_error();
        s_.metrics.request(chat(), Outcome::error);
        // The deadline is the only thing that cancels upstream operations, and Beast reports it
        // as either of these depending on which layer the timer interrupted.
        bool timeout = ec == beast::error::timeout || ec == net::error::operation_aborted;
        spdlog::warn("upstream {}:{} {}: {}", s_.upstream.host, s_.upstream.port, what, ec.message());
        std::string why = timeout ? "no answer within " + std::to_string(s_.config.upstream_timeout.count()) + " ms" : ec.message();
        return error_reply(http::status::bad_gateway, "upstream " + s_.upstream.host + ":" + s_.upstream.port + " " + what + ": " + why,
                           "upstream_error", timeout ? "upstream_timeout" : "upstream_unavailable");
    }
    awaitable<bool> upstream_failed(const char *what, const beast::error_code &ec) {
        Reply reply = upstream_failure(what, ec);
        co_return co_await write(client_, request_, reply);
    }

    awaitable<bool> forward() {
        if (s_.upstream.host.empty()) {
            s_.metrics.request(chat(), Outcome::error);
            Reply reply = error_reply(http::status::bad_gateway, "no upstream configured: start `aicache serve --upstream URL` to answer misses",
                                      "upstream_error", "no_upstream");
            co_return co_await write(client_, request_, reply);
        }
        auto executor = co_await net::this_coro::executor;
        beast::error_code ec;
        tcp::resolver resolver(executor);
        auto endpoints = co_await resolver.async_resolve(s_.upstream.host, s_.upstream.port, net::redirect_error(kUse, ec));
        if (ec) co_return co_await upstream_failed("cannot be resolved", ec);
        beast::tcp_stream connection(executor);
        // One deadline for the whole exchange: connect, send, and the full answer.
        connection.expires_after(s_.config.upstream_timeout);
        co_await connection.async_connect(endpoints, net::redirect_error(kUse, ec));
        if (ec) co_return co_await upstream_failed("is unreachable", ec);
        if (!s_.upstream.tls) co_return co_await exchange(connection);

        beast::ssl_stream<beast::tcp_stream> secure(std::move(connection), s_.tls);
        if (!SSL_set_tlsext_host_name(secure.native_handle(), s_.upstream.host.c_str())) {
            beast::error_code tls_error(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
            co_return co_await upstream_failed("TLS setup failed", tls_error);
        }
        secure.set_verify_callback(net::ssl::host_name_verification(s_.upstream.host));
        co_await secure.async_handshake(net::ssl::stream_base::client, net::redirect_error(kUse, ec));
        if (ec) co_return co_await upstream_failed("TLS handshake failed", ec);
        co_return co_await exchange(secure);
    }

    template <class Upstream>
    awaitable<bool> exchange(Upstream &upstream) {
        auto started = std::chrono::steady_clock::now();
        Request out{http::verb::post, s_.upstream.base_path + "/" + canonical_.endpoint, 11};
        out.set(http::field::host, s_.upstream.host);
        out.set(http::field::user_agent, "aicache");
        out.set(http::field::content_type, "application/json");
        out.set(http::field::accept, canonical_.stream ? "text/event-stream" : "application/json");
        // Credentials pass through and are never stored or logged.
        for (const char *header : {"authorization", "openai-organization", "openai-project", "x-api-key", "anthropic-version"})
            if (auto it = request_.find(header); it != request_.end()) out.set(header, it->value());
        out.body() = canonical_.upstream_body.dump();
        out.prepare_payload();
        beast::error_code ec;
        co_await http::async_write(upstream, out, net::redirect_error(kUse, ec));
        if (ec) co_return co_await upstream_failed("did not take the request", ec);

        beast::flat_buffer buffer;
        http::response_parser<http::buffer_body> parser;
        parser.body_limit(std::uint64_t(1) << 30); // upstream answers are trusted more than clients, but not unboundedly
        co_await http::async_read_header(upstream, buffer, parser, net::redirect_error(kUse, ec));
        if (ec) co_return co_await upstream_failed("sent no answer", ec);
        const unsigned status = parser.get().result_int();
        std::string content_type(parser.get()[http::field::content_type]);
        bool streaming = canonical_.stream && status == 200 && content_type.find("text/event-stream") != std::string::npos;
        if (streaming) co_return co_await relay_stream(upstream, buffer, parser, started);

        std::string body;
        char chunk[16384];
        while (!parser.is_done()) {
            size_t n = co_await read_piece(upstream, buffer, parser, chunk, sizeof chunk, ec);
            if (ec) co_return co_await upstream_failed("broke off its answer", ec);
            body.append(chunk, n);
        }
        s_.metrics.upstream_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (status == 200) note_answer(body, started);
        Headers headers = cache_headers(kind());
        if (status == 200 && canonical_.write_cache && !canonical_.stream) store(body, headers);
        s_.metrics.request(chat(), status == 200 ? outcome() : Outcome::error);
        Reply reply{static_cast<http::status>(status), std::move(body), content_type.empty() ? "application/json" : content_type,
                    std::move(headers)};
        co_return co_await write(client_, request_, reply);
    }

    // Reads the next piece of the upstream body into `chunk`; returns its length (0 at the end),
    // with ec set when the upstream failed. Arguments are lvalues only (see Reply).
    template <class Upstream>
    static awaitable<size_t> read_piece(Upstream &upstream, beast::flat_buffer &buffer, http::response_parser<http::buffer_body> &parser,
                                        char *chunk, size_t capacity, beast::error_code &ec) {
        parser.get().body().data = chunk;
        parser.get().body().size = capacity;
        co_await http::async_read(upstream, buffer, parser, net::redirect_error(kUse, ec));
        if (ec == http::error::need_buffer) ec = {};
        co_return ec ? 0 : capacity - parser.get().body().size;
    }

    // Streams upstream events to the client as they arrive, and stores the assembled answer only
    // if the whole stream reached the client: a disconnect or a broken upstream stores nothing.
    template <class Upstream>
    awaitable<bool> relay_stream(Upstream &upstream, beast::flat_buffer &buffer, http::response_parser<http::buffer_body> &parser,
                                 std::chrono::steady_clock::time_point started) {
        http::response<http::empty_body> head{http::status::ok, request_.version()};
        head.set(http::field::server, "aicache");
        head.set(http::field::content_type, "text/event-stream");
        head.set(http::field::cache_control, "no-cache");
        for (const auto &[name, value] : cache_headers(kind())) head.set(name, value);
        head.keep_alive(request_.keep_alive());
        head.chunked(true);
        http::response_serializer<http::empty_body> serializer{head};
        beast::error_code ec;
        co_await http::async_write_header(client_, serializer, net::redirect_error(kUse, ec));
        if (ec) co_return false;

        StreamAssembler assembler(canonical_.endpoint);
        char chunk[16384];
        while (!parser.is_done()) {
            size_t n = co_await read_piece(upstream, buffer, parser, chunk, sizeof chunk, ec);
            if (ec) {
                s_.metrics.upstream_error();
                spdlog::warn("upstream stream broke off: {}; nothing stored", ec.message());
                std::string event = "data: " + error_body("upstream stream broke off: " + ec.message(), "upstream_error", "upstream_stream_broken") + "\n\n";
                auto event_chunk = http::make_chunk(net::buffer(event));
                co_await net::async_write(client_, event_chunk, net::redirect_error(kUse, ec));
                // End the response properly, so the client reads the error event instead of a
                // connection that just drops; then close, since the upstream state is unknown.
                auto end = http::make_chunk_last();
                if (!ec) co_await net::async_write(client_, end, net::redirect_error(kUse, ec));
                co_return false;
            }
            if (n == 0) continue;
            assembler.feed(std::string_view(chunk, n));
            auto piece = http::make_chunk(net::buffer(chunk, n));
            co_await net::async_write(client_, piece, net::redirect_error(kUse, ec));
            if (ec) {
                spdlog::info("client left mid-stream ({}); nothing stored", ec.message());
                co_return false;
            }
        }
        auto last = http::make_chunk_last();
        co_await net::async_write(client_, last, net::redirect_error(kUse, ec));
        s_.metrics.upstream_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        s_.metrics.request(chat(), outcome());
        if (ec) co_return false;
        upstream_us_ = micros_since(started);
        logged_outcome_ = outcome() == Outcome::miss ? learning::RequestOutcome::miss : learning::RequestOutcome::bypass;
        if (canonical_.write_cache) {
            auto assembled = assembler.response_json();
            if (assembled) {
                note_answer(*assembled, started);
                Headers ignored;
                store(*assembled, ignored);
            } else {
                spdlog::warn("not caching a streamed answer: {}", assembled.error().message());
            }
        }
        co_return request_.keep_alive();
    }

    void store(const std::string &answer, Headers &headers) {
        cache::Answer a;
        a.key = canonical_.key;
        a.key_hash = canonical_.hash;
        a.value = answer;
        a.tenant = canonical_.tenant;
        a.kind = canonical_.endpoint;
        a.cost = answer_tokens(answer);
        a.ttl_seconds = s_.ttl_for(canonical_);
        cache::StoreResult result = s_.cache.store(a, now_us());
        stored_ = result == cache::StoreResult::stored;
        if (result == cache::StoreResult::not_durable) {
            s_.metrics.store_failure();
            headers.emplace_back("x-aicache-store", "failed: " + s_.cache.degraded_reason());
        } else if (result == cache::StoreResult::refused) {
            headers.emplace_back("x-aicache-store", "refused by the cache policy or too large");
        }
        if (stored_) remember_for_feedback(AnswerKind::fresh);
        if (s_.semantic == nullptr || canonical_.question.empty()) return;
        if (candidate_ && !candidate_->serve) {
            // The exploration's outcome: would the cached answer have been right for this question?
            cache::LookupResult cached = s_.cache.peek(cache::KeyView{candidate_->key_hash, candidate_->canonical_key}, now_us());
            if (cached.hit)
                if (Status told = s_.semantic->outcome(*candidate_, cache::answers_agree(cached.value(), answer)); !told)
                    spdlog::warn("semantic outcome not recorded: {}", told.message());
        }
        if (stored_)
            if (Status remembered = s_.semantic->remember(canonical_.semantic_scope, canonical_.hash, canonical_.key, canonical_.question); !remembered)
                spdlog::warn("question not indexed for semantic matching: {}", remembered.message());
    }

    Shared &s_;
    beast::tcp_stream &client_;
    const Request &request_;
    CanonicalRequest canonical_;
    // For the request log. Until an answer arrives the request counts as failed.
    std::chrono::steady_clock::time_point arrived_ = std::chrono::steady_clock::now();
    uint64_t arrived_us_ = now_us();
    learning::RequestOutcome logged_outcome_ = learning::RequestOutcome::error;
    uint64_t answer_bytes_ = 0, answer_tokens_ = 0;
    uint32_t upstream_us_ = 0;
    bool stored_ = false;
    std::optional<cache::SemanticCandidate> candidate_; // the semantic match considered, served or explored
};

// Everything about a request that needs no I/O: routing, validation, canonicalization.
// Returns the reply to send at once, or nothing when the request goes to ProxyCall.
std::optional<Reply> route(Shared &s, const Request &request, std::optional<CanonicalRequest> &proxied) {
    std::string_view target = request.target();
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target == "/healthz") {
        std::string degraded = s.cache.degraded_reason();
        nlohmann::json health = {{"status", "ok"}, {"store", degraded.empty() ? "ok" : "degraded: " + degraded}};
        return Reply{http::status::ok, health.dump(), "application/json", {}};
    }
    if (target == "/metrics")
        return Reply{http::status::ok, s.metrics.render(s.cache.memory().stats(), s.describe_plugins()), "text/plain; version=0.0.4", {}};
    if (target == "/v1/aicache/feedback") {
        if (request.method() != http::verb::post)
            return error_reply(http::status::method_not_allowed, "/v1/aicache/feedback takes POST", "invalid_request_error", "method_not_allowed");
        FeedbackReply verdict = apply_feedback(request.body(), s.feedback, s.cache, s.semantic);
        // An accepted verdict's reply says which it was: the body is not parsed a second time.
        if (verdict.status == 200 && s.monitor != nullptr) s.monitor->feedback(verdict.body.value("right", true));
        return Reply{static_cast<http::status>(verdict.status), verdict.body.dump(), "application/json", {}};
    }
    std::string endpoint;
    if (target == "/v1/chat/completions") endpoint = "chat/completions";
    else if (target == "/v1/completions") endpoint = "completions";
    else
        return error_reply(http::status::not_found,
                           "unknown endpoint " + std::string(target) + " (aicache serves /v1/chat/completions, /v1/completions, /v1/aicache/feedback, /healthz, /metrics)",
                           "invalid_request_error", "unknown_url");
    if (request.method() != http::verb::post)
        return error_reply(http::status::method_not_allowed, std::string(target) + " takes POST", "invalid_request_error", "method_not_allowed");
    std::string_view content_type = request[http::field::content_type];
    if (content_type.find("application/json") == std::string_view::npos)
        return error_reply(http::status::unsupported_media_type, "Content-Type must be application/json, got '" + std::string(content_type) + "'",
                           "invalid_request_error", "unsupported_media_type");
    nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
    if (body.is_discarded())
        return error_reply(http::status::bad_request, "the request body is not valid JSON", "invalid_request_error", "invalid_json");
    auto canonical = canonicalize(endpoint, std::move(body), request["x-aicache-tenant"], request[http::field::cache_control],
                                  s.config.canonical);
    if (!canonical) return error_reply(http::status::bad_request, canonical.error().message(), "invalid_request_error", "invalid_request");
    proxied = std::move(canonical.value());
    return std::nullopt;
}

awaitable<bool> handle(Shared &s, beast::tcp_stream &client, const Request &request) {
    std::optional<CanonicalRequest> proxied;
    std::optional<Reply> reply = route(s, request, proxied);
    if (reply) co_return co_await write(client, request, *reply);
    // Counted until the call has stored and recorded its answer, which happens after the client
    // has it: stop() waits for these so a stopping host loses no record of an answer it gave.
    struct InFlight {
        std::atomic<int> &count;
        explicit InFlight(std::atomic<int> &c) : count(c) { ++count; }
        ~InFlight() { --count; }
    } in_flight(s.in_flight);
    ProxyCall call(s, client, request, std::move(*proxied));
    co_return co_await call.run();
}

awaitable<void> session(Shared &s, tcp::socket socket) {
    beast::tcp_stream client(std::move(socket));
    beast::flat_buffer buffer;
    beast::error_code ec;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(s.config.max_body_bytes);
        client.expires_after(std::chrono::seconds(75)); // idle keep-alive connections close after this
        co_await http::async_read(client, buffer, parser, net::redirect_error(kUse, ec));
        if (ec == http::error::body_limit) {
            Request stub;
            stub.version(11);
            stub.keep_alive(false);
            Reply reply = error_reply(http::status::payload_too_large,
                                      "request body over the limit of " + std::to_string(s.config.max_body_bytes) + " bytes",
                                      "invalid_request_error", "request_too_large");
            co_await write(client, stub, reply);
            break;
        }
        if (ec) break; // end of stream, timeout, or garbage: nothing to answer
        Request request = parser.release();
        client.expires_never(); // upstream calls have their own deadline
        bool keep = co_await handle(s, client, request);
        if (!keep || !request.keep_alive()) break;
    }
    client.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> accept_loop(Shared &s, tcp::acceptor &acceptor) {
    for (;;) {
        beast::error_code ec;
        tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(kUse, ec));
        if (ec == net::error::operation_aborted) co_return;
        if (ec) continue;
        socket.set_option(tcp::no_delay(true), ec);
        net::co_spawn(acceptor.get_executor(), session(s, std::move(socket)), [](std::exception_ptr failure) {
            if (!failure) return;
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception &e) {
                spdlog::error("proxy session failed: {}", e.what());
            }
        });
    }
}

} // namespace

struct ProxyServer::Impl {
    Impl(ProxyConfig config, cache::DurableCache &cache, Metrics &metrics, std::function<std::string()> describe)
        : shared{std::move(config), {}, cache, metrics, std::move(describe)}, ioc(static_cast<int>(shared.config.threads)),
          acceptor(ioc) {}
    Shared shared;
    net::io_context ioc;
    tcp::acceptor acceptor;
    std::vector<std::thread> threads;
};

ProxyServer::ProxyServer(ProxyConfig config, cache::DurableCache &cache, Metrics &metrics, std::function<std::string()> describe_plugins)
    : impl_(std::make_unique<Impl>(std::move(config), cache, metrics, std::move(describe_plugins))) {}

ProxyServer::~ProxyServer() { stop(); }

void ProxyServer::record_requests_to(learning::RequestLog *log) { impl_->shared.request_log = log; }
void ProxyServer::monitor_with(learning::PerformanceMonitor *monitor) { impl_->shared.monitor = monitor; }

void ProxyServer::match_semantically_with(cache::SemanticMatcher *matcher) { impl_->shared.semantic = matcher; }

Status ProxyServer::start() {
    Shared &s = impl_->shared;
    if (!s.config.upstream.empty()) {
        auto upstream = UpstreamUrl::parse(s.config.upstream);
        if (!upstream) return upstream.error();
        s.upstream = *upstream;
    }
    beast::error_code ec;
    s.tls.set_default_verify_paths(ec);
    s.tls.set_verify_mode(net::ssl::verify_peer);
    auto address = net::ip::make_address(s.config.listen_address, ec);
    if (ec) return Status(Errc::invalid_argument, "listen address \"" + s.config.listen_address + "\": " + ec.message());
    tcp::endpoint endpoint(address, s.config.port);
    tcp::acceptor &acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        return Status(Errc::io, "cannot listen on " + s.config.listen_address + ":" + std::to_string(s.config.port) + ": " + ec.message());
    net::co_spawn(impl_->ioc, accept_loop(s, acceptor), net::detached);
    for (unsigned i = 0; i < std::max(1u, s.config.threads); ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
    return Status::ok();
}

void ProxyServer::stop() {
    if (!impl_ || impl_->threads.empty()) return;
    // No new connections; requests in progress get up to two seconds to finish (a slow upstream
    // call is cut off after that).
    net::post(impl_->ioc, [this] {
        beast::error_code ec;
        impl_->acceptor.close(ec);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (impl_->shared.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    impl_->ioc.stop();
    for (auto &t : impl_->threads) t.join();
    impl_->threads.clear();
}

uint16_t ProxyServer::port() const {
    beast::error_code ec;
    auto endpoint = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

} // namespace aicache::server
