#include "server/canonical_request.hpp"
#include "server/sse.hpp"

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
