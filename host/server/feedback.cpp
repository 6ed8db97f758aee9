#include "server/feedback.hpp"

#include "core/log.hpp"

#include <charconv>

namespace aicache::server {

size_t FeedbackBook::bytes_of(const GivenAnswer &a) {
    size_t bytes = sizeof(GivenAnswer);
    if (a.candidate) bytes += a.candidate->canonical_key.size() + a.candidate->cached_question.size() + a.candidate->question.size();
    return bytes;
}

void FeedbackBook::remember(uint64_t request_hash, GivenAnswer answer) {
    std::lock_guard lock(mutex_);
    const size_t bytes = bytes_of(answer);
    if (bytes > max_bytes_) return;
    if (auto it = answers_.find(request_hash); it != answers_.end()) {
        bytes_ -= bytes_of(it->second.answer);
        answers_.erase(it); // its place in order_ goes stale and is skipped below
    }
    const uint64_t stamp = next_stamp_++;
    answers_.emplace(request_hash, Held{std::move(answer), stamp});
    order_.emplace_back(request_hash, stamp);
    bytes_ += bytes;
    while (bytes_ > max_bytes_ && !order_.empty()) {
        auto [hash, at] = order_.front();
        order_.pop_front();
        auto it = answers_.find(hash);
        if (it == answers_.end() || it->second.stamp != at) continue;
        bytes_ -= bytes_of(it->second.answer);
        answers_.erase(it);
    }
    // Stale order entries (re-answered or taken keys) would otherwise pile up under a steady load.
    if (order_.size() > 2 * answers_.size() + 1024) {
        std::deque<std::pair<uint64_t, uint64_t>> live;
        for (const auto &[hash, at] : order_)
            if (auto it = answers_.find(hash); it != answers_.end() && it->second.stamp == at) live.emplace_back(hash, at);
        order_.swap(live);
    }
}

std::optional<GivenAnswer> FeedbackBook::take(uint64_t request_hash) {
    std::lock_guard lock(mutex_);
    auto it = answers_.find(request_hash);
    if (it == answers_.end()) return std::nullopt;
    GivenAnswer answer = std::move(it->second.answer);
    bytes_ -= bytes_of(answer);
    answers_.erase(it);
    return answer;
}

size_t FeedbackBook::size() const {
    std::lock_guard lock(mutex_);
    return answers_.size();
}

namespace {

FeedbackReply refuse(int status, const std::string &message, const char *code) {
    return {status, {{"error", {{"message", message}, {"type", "invalid_request_error"}, {"code", code}}}}};
}

std::optional<uint64_t> parse_key(const std::string &hex) {
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
    if (ec != std::errc() || end != hex.data() + hex.size() || hex.empty()) return std::nullopt;
    return value;
}

} // namespace

FeedbackReply apply_feedback(std::string_view body, FeedbackBook &book, cache::DurableCache &cache, cache::SemanticMatcher *matcher) {
    nlohmann::json request = nlohmann::json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("key") || !request["key"].is_string() || !request.contains("right") ||
        !request["right"].is_boolean())
        return refuse(400, "feedback is {\"key\": the answer's x-aicache-key, \"right\": true or false}", "invalid_feedback");
    const std::string key_text = request["key"].get<std::string>();
    auto key = parse_key(key_text);
    if (!key) return refuse(400, "\"key\" must be the hexadecimal x-aicache-key of an answer, not \"" + key_text.substr(0, 64) + "\"", "invalid_feedback");
    const bool right = request["right"].get<bool>();
    std::optional<GivenAnswer> given = book.take(*key);
    if (!given)
        return refuse(404, "no recent answer under key " + key_text + " awaits feedback (already judged, or too old)", "unknown_answer");

    nlohmann::json reply = {{"key", key_text}, {"right", right}, {"actions", nlohmann::json::array()}};
    if (given->kind == AnswerKind::semantic_hit && given->candidate && matcher != nullptr) {
        reply["answer"] = "semantic-hit";
        if (Status told = matcher->outcome(*given->candidate, right); !told) {
            spdlog::warn("feedback not told to the threshold learner: {}", told.message());
            reply["actions"].push_back("outcome not recorded: " + told.message());
        } else {
            reply["actions"].push_back(right ? "threshold learner told: right" : "threshold learner told: wrong (not served again at this similarity)");
        }
        return {200, reply};
    }
    reply["answer"] = given->kind == AnswerKind::exact_hit ? "hit" : "miss";
    if (right) return {200, reply};
    // A wrong answer must not be served again: out of the cache, the store and the index.
    auto failed = [](const std::string &why) {
        return FeedbackReply{500, {{"error", {{"message", "the wrong answer could not be removed: " + why}, {"type", "server_error"}, {"code", "store"}}}}};
    };
    auto stored = cache.durable().get(given->entry_hash);
    if (!stored) return failed(stored.error().message());
    if (stored->empty()) {
        reply["actions"].push_back("already gone from the cache");
    } else {
        if (Status removed = cache.remove({given->entry_hash}, {stored->front().key}); !removed) return failed(removed.message());
        reply["actions"].push_back("removed from the cache");
    }
    if (matcher != nullptr && given->scope != 0) {
        if (Status forgotten = matcher->forget(given->scope, given->entry_hash); forgotten) reply["actions"].push_back("removed from the semantic index");
    }
    return {200, reply};
}

} // namespace aicache::server
