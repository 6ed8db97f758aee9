#include "server/sse.hpp"

namespace aicache::server {

void StreamAssembler::feed(std::string_view bytes) {
    pending_.append(bytes);
    size_t start = 0;
    for (;;) {
        size_t end = pending_.find('\n', start);
        if (end == std::string::npos) break;
        std::string_view line(pending_.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.rfind("data:", 0) == 0) {
            line.remove_prefix(5);
            if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            on_event(line);
        }
        start = end + 1;
    }
    pending_.erase(0, start);
}

void StreamAssembler::on_event(std::string_view data) {
    if (data == "[DONE]") {
        done_ = true;
        return;
    }
    nlohmann::json chunk = nlohmann::json::parse(data, nullptr, false);
    if (!chunk.is_object()) {
        malformed_ = "an event's data is not a JSON object";
        return;
    }
    for (const char *field : {"id", "created", "model", "system_fingerprint"})
        if (chunk.contains(field) && !chunk[field].is_null()) head_[field] = chunk[field];
    if (chunk.contains("usage") && chunk["usage"].is_object()) usage_ = chunk["usage"];
    if (!chunk.contains("choices") || !chunk["choices"].is_array()) return;
    for (const auto &c : chunk["choices"]) {
        int index = c.value("index", 0);
        Choice &choice = choices_[index];
        if (c.contains("finish_reason") && !c["finish_reason"].is_null()) choice.finish_reason = c["finish_reason"];
        if (endpoint_ == "completions") {
            if (c.contains("text") && c["text"].is_string()) choice.content += c["text"].get<std::string>();
            continue;
        }
        if (!c.contains("delta") || !c["delta"].is_object()) continue;
        const auto &delta = c["delta"];
        if (delta.contains("role") && delta["role"].is_string()) choice.role = delta["role"];
        if (delta.contains("content") && delta["content"].is_string()) choice.content += delta["content"].get<std::string>();
        if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
            for (const auto &t : delta["tool_calls"]) {
                ToolCall &call = choice.tool_calls[t.value("index", 0)];
                if (t.contains("id") && t["id"].is_string()) call.id = t["id"];
                if (t.contains("type") && t["type"].is_string()) call.type = t["type"];
                if (t.contains("function") && t["function"].is_object()) {
                    const auto &f = t["function"];
                    if (f.contains("name") && f["name"].is_string()) call.name += f["name"].get<std::string>();
                    if (f.contains("arguments") && f["arguments"].is_string()) call.arguments += f["arguments"].get<std::string>();
                }
            }
        }
    }
}

bool StreamAssembler::complete() const {
    if (!done_ || !malformed_.empty() || choices_.empty()) return false;
    for (const auto &[index, choice] : choices_)
        if (choice.finish_reason.is_null()) return false;
    return true;
}

Expected<std::string> StreamAssembler::response_json() const {
    if (!malformed_.empty()) return Status(Errc::corrupt, "upstream stream: " + malformed_);
    if (!complete()) return Status(Errc::corrupt, "upstream stream ended before [DONE] and a finish_reason for every choice");
    nlohmann::json response = head_;
    response["object"] = endpoint_ == "completions" ? "text_completion" : "chat.completion";
    nlohmann::json choices = nlohmann::json::array();
    for (const auto &[index, choice] : choices_) {
        nlohmann::json c = {{"index", index}, {"finish_reason", choice.finish_reason}, {"logprobs", nullptr}};
        if (endpoint_ == "completions") {
            c["text"] = choice.content;
        } else {
            nlohmann::json message = {{"role", choice.role.empty() ? "assistant" : choice.role}};
            message["content"] = choice.content.empty() && !choice.tool_calls.empty() ? nlohmann::json(nullptr) : nlohmann::json(choice.content);
            if (!choice.tool_calls.empty()) {
                nlohmann::json calls = nlohmann::json::array();
                for (const auto &[i, call] : choice.tool_calls)
                    calls.push_back({{"id", call.id},
                                     {"type", call.type.empty() ? "function" : call.type},
                                     {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
                message["tool_calls"] = calls;
            }
            c["message"] = message;
        }
        choices.push_back(c);
    }
    response["choices"] = choices;
    if (!usage_.is_null()) response["usage"] = usage_;
    return response.dump();
}

Expected<std::string> synthesize_stream(std::string_view endpoint, std::string_view response_json, bool include_usage) {
    nlohmann::json response = nlohmann::json::parse(response_json, nullptr, false);
    if (!response.is_object() || !response.contains("choices") || !response["choices"].is_array())
        return Status(Errc::corrupt, "stored answer is not a completion response");
    const bool chat = endpoint != "completions";
    nlohmann::json head = {{"id", response.value("id", "aicache")},
                           {"object", chat ? "chat.completion.chunk" : "text_completion"},
                           {"created", response.value("created", 0)},
                           {"model", response.value("model", "")}};
    if (response.contains("system_fingerprint")) head["system_fingerprint"] = response["system_fingerprint"];
    std::string out;
    auto emit = [&](nlohmann::json choices, const nlohmann::json *usage = nullptr) {
        nlohmann::json chunk = head;
        chunk["choices"] = std::move(choices);
        if (usage != nullptr) chunk["usage"] = *usage;
        out += "data: " + chunk.dump() + "\n\n";
    };
    for (const auto &c : response["choices"]) {
        int index = c.value("index", 0);
        if (!chat) {
            emit(nlohmann::json::array({{{"index", index}, {"text", c.value("text", "")}, {"finish_reason", nullptr}, {"logprobs", nullptr}}}));
            emit(nlohmann::json::array({{{"index", index}, {"text", ""}, {"finish_reason", c.value("finish_reason", nlohmann::json())}, {"logprobs", nullptr}}}));
            continue;
        }
        nlohmann::json message = c.value("message", nlohmann::json::object());
        nlohmann::json first_delta = {{"role", message.value("role", "assistant")}, {"content", ""}};
        emit(nlohmann::json::array({{{"index", index}, {"delta", first_delta}, {"finish_reason", nullptr}}}));
        if (message.contains("content") && message["content"].is_string() && !message["content"].get<std::string>().empty())
            emit(nlohmann::json::array({{{"index", index}, {"delta", {{"content", message["content"]}}}, {"finish_reason", nullptr}}}));
        if (message.contains("tool_calls") && message["tool_calls"].is_array()) {
            nlohmann::json calls = nlohmann::json::array();
            int i = 0;
            for (auto call : message["tool_calls"]) {
                call["index"] = i++;
                calls.push_back(call);
            }
            emit(nlohmann::json::array({{{"index", index}, {"delta", {{"tool_calls", calls}}}, {"finish_reason", nullptr}}}));
        }
        emit(nlohmann::json::array({{{"index", index}, {"delta", nlohmann::json::object()}, {"finish_reason", c.value("finish_reason", nlohmann::json())}}}));
    }
    if (include_usage && response.contains("usage")) emit(nlohmann::json::array(), &response["usage"]);
    out += "data: [DONE]\n\n";
    return out;
}

} // namespace aicache::server
