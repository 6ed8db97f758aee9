// Server-sent events for OpenAI streaming: assembling an upstream stream into the response a
// non-streamed request would have got (what the cache stores), and replaying a stored response
// as a stream.
#pragma once

#include "core/status.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>

namespace aicache::server {

class StreamAssembler {
public:
    explicit StreamAssembler(std::string endpoint) : endpoint_(std::move(endpoint)) {}

    // Raw bytes of the event stream, in any slicing.
    void feed(std::string_view bytes);
    // True once "data: [DONE]" arrived and every choice had a finish_reason.
    [[nodiscard]] bool complete() const;
    // The equivalent non-streamed response body; an error if the stream was incomplete or malformed.
    [[nodiscard]] Expected<std::string> response_json() const;

private:
    struct ToolCall {
        std::string id, type, name, arguments;
    };
    struct Choice {
        std::string role, content;
        std::map<int, ToolCall> tool_calls;
        nlohmann::json finish_reason;
    };
    void on_event(std::string_view data);

    std::string endpoint_;
    std::string pending_; // bytes of an unfinished line
    bool done_ = false;
    std::string malformed_;
    nlohmann::json head_ = nlohmann::json::object(); // id, created, model, system_fingerprint
    nlohmann::json usage_;
    std::map<int, Choice> choices_;
};

// The SSE bytes that stream a stored non-streamed response, ending with "data: [DONE]".
// include_usage: the client asked for a usage chunk (stream_options.include_usage).
Expected<std::string> synthesize_stream(std::string_view endpoint, std::string_view response_json, bool include_usage);

} // namespace aicache::server
