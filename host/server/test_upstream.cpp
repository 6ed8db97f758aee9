#include "server/test_upstream.hpp"

#define BOOST_BEAST_USE_STD_STRING_VIEW
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace aicache::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// The number after `name=` in `text`, or 0.
uint64_t tagged_number(std::string_view text, std::string_view name) {
    size_t at = text.find(name);
    if (at == std::string_view::npos) return 0;
    return std::strtoull(std::string(text.substr(at + name.size(), 20)).c_str(), nullptr, 10);
}

std::string last_user_text(const nlohmann::json &body) {
    if (body.contains("messages") && body["messages"].is_array())
        for (auto it = body["messages"].rbegin(); it != body["messages"].rend(); ++it)
            if (it->value("role", "") == "user") return (*it)["content"].is_string() ? (*it)["content"].get<std::string>() : (*it)["content"].dump();
    return body.value("prompt", "");
}

http::response<http::string_body> answer(const http::request<http::string_body> &request, uint64_t call) {
    http::response<http::string_body> reply(http::status::ok, request.version());
    reply.set(http::field::content_type, "application/json");
    reply.keep_alive(request.keep_alive());
    const bool chat = request.target().ends_with("/chat/completions");
    nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
    if (request.method() != http::verb::post || body.is_discarded() || (!chat && !request.target().ends_with("/completions"))) {
        reply.result(http::status::bad_request);
        reply.body() = R"({"error":{"message":"the test upstream answers POST .../chat/completions and .../completions with JSON","type":"invalid_request_error"}})";
        reply.prepare_payload();
        return reply;
    }
    const std::string prompt = last_user_text(body);
    std::string text = "answer to: " + prompt;
    if (uint64_t size = tagged_number(prompt, "SIZE="); size > text.size()) text.append(size - text.size(), '.');
    uint64_t completion_tokens = tagged_number(prompt, "TOKENS=");
    if (completion_tokens == 0) completion_tokens = std::max<uint64_t>(1, text.size() / 4);
    const uint64_t prompt_tokens = std::max<uint64_t>(1, prompt.size() / 4);
    nlohmann::json choice = chat ? nlohmann::json{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}
                                 : nlohmann::json{{"index", 0}, {"text", text}, {"finish_reason", "stop"}};
    reply.body() = nlohmann::json{{"id", "cmpl-test-" + std::to_string(call)},
                                  {"object", chat ? "chat.completion" : "text_completion"},
                                  {"created", 1700000000},
                                  {"model", body.value("model", "test")},
                                  {"choices", {choice}},
                                  {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}, {"total_tokens", prompt_tokens + completion_tokens}}}}
                       .dump();
    reply.prepare_payload();
    return reply;
}

} // namespace

struct TestUpstream::Impl {
    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    std::atomic<uint64_t> calls{0};

    net::awaitable<void> session(tcp::socket socket) {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        beast::error_code ec;
        for (;;) {
            http::request<http::string_body> request;
            co_await http::async_read(stream, buffer, request, net::redirect_error(net::use_awaitable, ec));
            if (ec) break;
            auto reply = answer(request, ++calls);
            co_await http::async_write(stream, reply, net::redirect_error(net::use_awaitable, ec));
            if (ec || !request.keep_alive()) break;
        }
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            beast::error_code ec;
            tcp::socket socket = co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
            if (ec == net::error::operation_aborted) co_return;
            if (ec) continue;
            socket.set_option(tcp::no_delay(true), ec);
            net::co_spawn(ioc, session(std::move(socket)), net::detached);
        }
    }
};

TestUpstream::TestUpstream() : impl_(std::make_unique<Impl>()) {}
TestUpstream::~TestUpstream() { stop(); }

Status TestUpstream::start() {
    beast::error_code ec;
    tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
    impl_->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl_->acceptor.bind(endpoint, ec);
    if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status(Errc::io, "the test upstream cannot listen on 127.0.0.1: " + ec.message());
    net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
    return Status::ok();
}

void TestUpstream::stop() {
    if (!impl_ || !impl_->thread.joinable()) return;
    impl_->ioc.stop();
    impl_->thread.join();
    beast::error_code ec;
    impl_->acceptor.close(ec); // connecting now is refused, not left waiting
}

uint16_t TestUpstream::port() const {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

uint64_t TestUpstream::calls() const { return impl_->calls.load(); }

} // namespace aicache::server
