#include "server/canonical_request.hpp"
#include "server/sse.hpp"
#include "core/files.hpp"
#include "test_support.hpp"

#include <set>

#include <doctest/doctest.h>

using namespace aicache;
using nlohmann::json;

namespace {
json chat(const std::string &text) {
    return {{"model", "m"}, {"temperature", 0}, {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
}
server::CanonicalRequest canon(json body, std::string_view tenant = "", std::string_view cache_control = "",
                               server::CanonicalOptions options = {}) {
    auto r = server::canonicalize("chat/completions", std::move(body), tenant, cache_control, options);
    REQUIRE_MESSAGE(r, (r ? "" : r.error().message()));
    return r.value();
}
} // namespace

TEST_CASE("keys_ignore_streaming_users_and_number_spelling_but_not_parameters") {
    auto base = canon(chat("hi"));
    json variant = chat("hi");
    variant["temperature"] = 0.0;
    variant["stream"] = true;
    variant["user"] = "someone";
    CHECK(canon(variant).hash == base.hash);
    json more = chat("hi");
    more["max_tokens"] = 10;
    CHECK(canon(more).hash != base.hash);
    CHECK(canon(chat("hi"), "team-a").hash != base.hash);
    CHECK(canon(chat("Hi")).hash != base.hash);
}

TEST_CASE("sampled_requests_and_cache_control_bypass_the_cache") {
    json sampled = chat("hi");
    sampled.erase("temperature"); // OpenAI's default temperature is 1
    auto r = canon(sampled);
    CHECK_FALSE(r.read_cache);
    CHECK_FALSE(r.write_cache);
    server::CanonicalOptions allow;
    allow.cache_sampled = true;
    CHECK(canon(sampled, "", "", allow).write_cache);
    auto no_cache = canon(chat("hi"), "", "No-Cache");
    CHECK_FALSE(no_cache.read_cache);
    CHECK(no_cache.write_cache);
    auto no_store = canon(chat("hi"), "", "no-store");
    CHECK_FALSE(no_store.write_cache);
    json opt_out = chat("hi");
    opt_out["aicache"] = {{"cache", false}, {"ttl", 60}};
    auto r2 = canon(opt_out);
    CHECK_FALSE(r2.read_cache);
    CHECK(r2.ttl_seconds == 60);
    CHECK_FALSE(r2.upstream_body.contains("aicache"));
}

TEST_CASE("invalid_requests_are_refused_with_a_reason") {
    CHECK(server::canonicalize("chat/completions", json::array(), "", "", {}).error().message().find("JSON object") != std::string::npos);
    CHECK(server::canonicalize("chat/completions", {{"model", "m"}}, "", "", {}).error().message().find("messages") != std::string::npos);
    CHECK(server::canonicalize("completions", {{"model", "m"}}, "", "", {}).error().message().find("prompt") != std::string::npos);
    CHECK_FALSE(server::canonicalize("chat/completions", chat("x"), "bad tenant!", "", {}));
}

TEST_CASE("a_stream_assembles_into_the_non_streamed_answer_and_replays_back") {
    server::StreamAssembler assembler("chat/completions");
    std::string stream =
        "data: {\"id\":\"c1\",\"created\":5,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n"
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n";
    // Fed in awkward slices, as TCP delivers them.
    for (size_t i = 0; i < stream.size(); i += 7) assembler.feed(std::string_view(stream).substr(i, 7));
    REQUIRE(assembler.complete());
    auto response = json::parse(*assembler.response_json());
    CHECK(response["choices"][0]["message"]["content"] == "Hello");
    CHECK(response["choices"][0]["finish_reason"] == "stop");
    CHECK(response["object"] == "chat.completion");

    auto replayed = server::synthesize_stream("chat/completions", response.dump(), false);
    REQUIRE(replayed);
    server::StreamAssembler again("chat/completions");
    again.feed(*replayed);
    REQUIRE(again.complete());
    CHECK(json::parse(*again.response_json())["choices"][0]["message"]["content"] == "Hello");
}

TEST_CASE("an_unfinished_stream_is_not_an_answer") {
    server::StreamAssembler assembler("chat/completions");
    assembler.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n");
    CHECK_FALSE(assembler.complete());
    CHECK_FALSE(assembler.response_json());
}

TEST_CASE("the semantic scope is what must match besides the question: model, parameters, tenant and the conversation so far") {
    auto a = canon(chat("How do I sort a list in Python?"));
    auto b = canon(chat("what's the way to sort a python list"));
    CHECK(a.question == "How do I sort a list in Python?");
    CHECK(a.hash != b.hash);
    CHECK(a.semantic_scope == b.semantic_scope); // paraphrases of one question: one scope

    json other_model = chat("How do I sort a list in Python?");
    other_model["model"] = "other";
    CHECK(canon(other_model).semantic_scope != a.semantic_scope);
    json more_tokens = chat("How do I sort a list in Python?");
    more_tokens["max_tokens"] = 5;
    CHECK(canon(more_tokens).semantic_scope != a.semantic_scope);
    CHECK(canon(chat("How do I sort a list in Python?"), "team-b").semantic_scope != a.semantic_scope);

    // A follow-up ("and in reverse?") is only a paraphrase of a follow-up in the same conversation.
    auto follow_up = [](const std::string &first, const std::string &question) {
        return json{{"model", "m"},
                    {"temperature", 0},
                    {"messages", json::array({{{"role", "user"}, {"content", first}},
                                              {{"role", "assistant"}, {"content", "an answer"}},
                                              {{"role", "user"}, {"content", question}}})}};
    };
    auto in_python = canon(follow_up("How do I sort a list in Python?", "and in reverse?"));
    auto in_java = canon(follow_up("How do I sort an array in Java?", "and in reverse?"));
    CHECK(in_python.question == "and in reverse?");
    CHECK(in_python.semantic_scope != in_java.semantic_scope);
    CHECK(canon(follow_up("How do I sort a list in Python?", "what about descending order?")).semantic_scope == in_python.semantic_scope);

    // Content given as parts: the text parts are the question.
    json parts = {{"model", "m"},
                  {"temperature", 0},
                  {"messages", json::array({{{"role", "user"},
                                             {"content", json::array({{{"type", "text"}, {"text", "How do I sort a list in Python?"}}})}}})}};
    CHECK(canon(parts).question == "How do I sort a list in Python?");
    // No user text: nothing to match semantically.
    json system_only = {{"model", "m"}, {"temperature", 0}, {"messages", json::array({{{"role", "system"}, {"content", "be brief"}}})}};
    CHECK(canon(system_only).question.empty());
    CHECK(canon(system_only).semantic_scope == 0);
}

TEST_CASE("MeanCache's two-turn conversations: a follow-up shares a scope only with follow-ups of the same conversation") {
    auto file = test::shared_data_dir() / "semantic" / "multiturn_claude.json";
    if (test::shared_data_dir().empty() || !std::filesystem::exists(file)) {
        MESSAGE("skipped: ../shared/data/semantic/multiturn_claude.json is absent");
        return;
    }
    auto text = read_file(file);
    REQUIRE(text);
    json conversations = json::parse(*text);
    REQUIRE(conversations.size() > 100);
    auto turn = [](const json &c, const std::string &follow_up) {
        return json{{"model", "m"},
                    {"temperature", 0},
                    {"messages", json::array({{{"role", "user"}, {"content", c["u0"]}},
                                              {{"role", "assistant"}, {"content", c["system_q0"]}},
                                              {{"role", "user"}, {"content", follow_up}}})}};
    };
    std::set<uint64_t> follow_up_scopes;
    std::set<std::pair<std::string, std::string>> contexts; // some conversations open the same way
    for (const auto &c : conversations) {
        contexts.insert({c["u0"].get<std::string>(), c["system_q0"].get<std::string>()});
        // First questions and their paraphrases share a scope; so do the two wordings of a follow-up.
        CHECK(canon(chat(c["u0"])).semantic_scope == canon(chat(c["u0_duplicate"])).semantic_scope);
        auto u1 = canon(turn(c, c["u1"]));
        CHECK(u1.semantic_scope == canon(turn(c, c["u1_duplicate"])).semantic_scope);
        CHECK(u1.question == c["u1"].get<std::string>());
        // The follow-up asked on its own is another question ("which part?" of what?).
        CHECK(canon(chat(c["u1"])).semantic_scope != u1.semantic_scope);
        follow_up_scopes.insert(u1.semantic_scope);
    }
    CHECK(follow_up_scopes.size() == contexts.size()); // one scope per conversation so far, never shared across them
}

TEST_CASE("a configured prompt canonicalization makes the keys of differently spelled questions equal, and forwards the question as sent") {
    server::CanonicalOptions options;
    options.prompt_canon = *cache::PromptCanon::parse("whitespace,case,punctuation");
    auto a = canon(chat("How do I sort a list in Python?"), "", "", options);
    auto b = canon(chat("  how do i sort a list   in python "), "", "", options);
    CHECK(a.hash == b.hash);
    CHECK(b.upstream_body["messages"][0]["content"] == "  how do i sort a list   in python ");
    CHECK(canon(chat("How do I sort a list in Java?"), "", "", options).hash != a.hash);
    // Without it, the spelling is part of the key.
    CHECK(canon(chat("How do I sort a list in Python?")).hash != canon(chat("how do i sort a list in python")).hash);
    // Only the users' words: a different system prompt still makes a different key.
    json with_system = chat("How do I sort a list in Python?");
    with_system["messages"].insert(with_system["messages"].begin(), json{{"role", "system"}, {"content", "Answer In French."}});
    json with_other_system = chat("How do I sort a list in Python?");
    with_other_system["messages"].insert(with_other_system["messages"].begin(), json{{"role", "system"}, {"content", "answer in french"}});
    CHECK(canon(with_system, "", "", options).hash != canon(with_other_system, "", "", options).hash);
}
