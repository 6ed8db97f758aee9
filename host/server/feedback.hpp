// POST /v1/aicache/feedback {"key": "<x-aicache-key>", "right": true|false}: a client says whether
// the answer it got for a request was right. The proxy keeps a bounded book of the answers it
// gave (by the request's key), so feedback can reach what produced the answer:
//   - a semantic hit: the threshold learner learns the outcome (a wrong one stops that entry from
//     being served at that similarity), and the pair is kept for training the encoder;
//   - an exact hit or a fresh answer that was wrong: the entry leaves the cache (and the semantic
//     index), so the next request goes upstream.
#pragma once

#include "cache/durable_cache.hpp"
#include "cache/semantic_matcher.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace aicache::server {

enum class AnswerKind { exact_hit, semantic_hit, fresh };

// Kept for every answer the proxy gives, so small on purpose: an exact hit or a fresh answer costs
// no string copy (a wrong one's canonical key is read back from the store when feedback comes).
struct GivenAnswer {
    AnswerKind kind = AnswerKind::fresh;
    uint64_t entry_hash = 0;   // the cache entry that holds the answer given
    uint64_t scope = 0;        // its semantic scope (0: not indexed)
    std::optional<cache::SemanticCandidate> candidate; // semantic hits: what matched, and how
};

class FeedbackBook {
public:
    // Bounded by the bytes it holds; the oldest answers are forgotten first.
    FeedbackBook() : FeedbackBook(16u << 20) {}
    explicit FeedbackBook(size_t max_bytes) : max_bytes_(max_bytes) {}
    void remember(uint64_t request_hash, GivenAnswer answer);
    // The latest answer given under this request key, taken out of the book: one verdict per answer.
    std::optional<GivenAnswer> take(uint64_t request_hash);
    [[nodiscard]] size_t size() const;

private:
    static size_t bytes_of(const GivenAnswer &a);
    mutable std::mutex mutex_;
    size_t max_bytes_, bytes_ = 0;
    uint64_t next_stamp_ = 0;
    struct Held {
        GivenAnswer answer;
        uint64_t stamp;
    };
    std::unordered_map<uint64_t, Held> answers_;
    std::deque<std::pair<uint64_t, uint64_t>> order_; // (request hash, stamp), oldest first
};

struct FeedbackReply {
    int status = 200; // HTTP
    nlohmann::json body;
};

// Applies one feedback request body. `matcher` may be null (exact matching only).
FeedbackReply apply_feedback(std::string_view body, FeedbackBook &book, cache::DurableCache &cache, cache::SemanticMatcher *matcher);

} // namespace aicache::server
