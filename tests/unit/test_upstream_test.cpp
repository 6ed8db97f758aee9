// The in-process test upstream and the loopback HTTP client the demo drives hosts with.
#include "server/http_client.hpp"
#include "server/test_upstream.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace aicache;

TEST_CASE("the test upstream answers chat completions at the asked size, bills the tokens named, and counts its calls") {
    server::TestUpstream upstream;
    REQUIRE(upstream.start());
    server::HttpConnection connection("127.0.0.1", upstream.port());
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"question 7 SIZE=500"}]})";
    auto first = connection.post("/v1/chat/completions", body);
    REQUIRE(first);
    CHECK(first->status == 200);
    auto answer = nlohmann::json::parse(first->body);
    const std::string text = answer["choices"][0]["message"]["content"];
    CHECK(text.size() == 500);
    CHECK(text.starts_with("answer to: question 7"));
    CHECK(answer["usage"]["completion_tokens"] == 125);
    auto second = connection.post("/v1/chat/completions", body); // the same kept-alive connection
    REQUIRE(second);
    CHECK(second->body.find(text) != std::string::npos);          // deterministic
    auto billed = connection.post("/v1/completions", R"({"model":"m","prompt":"think hard TOKENS=900"})");
    REQUIRE(billed);
    CHECK(nlohmann::json::parse(billed->body)["usage"]["completion_tokens"] == 900);
    auto bad = connection.post("/v1/chat/completions", "not json");
    REQUIRE(bad);
    CHECK(bad->status == 400);
    CHECK(upstream.calls() == 4);
    const uint16_t port = upstream.port();
    upstream.stop();
    server::HttpConnection nobody("127.0.0.1", port);
    CHECK_FALSE(nobody.post("/v1/chat/completions", body)); // a clear error, not a hang
}
