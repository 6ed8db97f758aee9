#include "server/http_client.hpp"

#define BOOST_BEAST_USE_STD_STRING_VIEW
#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace aicache::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct HttpConnection::Impl {
    std::string host;
    uint16_t port;
    net::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buffer;
    bool connected = false;

    beast::error_code connect() {
        beast::error_code ec;
        stream.socket().close(ec);
        buffer.clear();
        ec = {};
        auto address = net::ip::make_address(host, ec);
        if (ec) return ec;
        stream.connect(tcp::endpoint(address, port), ec);
        if (!ec) stream.socket().set_option(tcp::no_delay(true), ec);
        connected = !ec;
        return ec;
    }

    beast::error_code exchange(const http::request<http::string_body> &request, http::response<http::string_body> &response) {
        beast::error_code ec;
        http::write(stream, request, ec);
        if (!ec) http::read(stream, buffer, response, ec);
        return ec;
    }
};

HttpConnection::HttpConnection(std::string host, uint16_t port) : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
}

HttpConnection::~HttpConnection() {
    beast::error_code ec;
    impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

Expected<HttpReply> HttpConnection::post(const std::string &target, const std::string &json_body) {
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.set(http::field::host, impl_->host);
    request.set(http::field::content_type, "application/json");
    request.keep_alive(true);
    request.body() = json_body;
    request.prepare_payload();
    http::response<http::string_body> response;
    beast::error_code ec;
    if (!impl_->connected) ec = impl_->connect();
    if (!ec) ec = impl_->exchange(request, response);
    if (ec) { // the server may have closed an idle connection: once more on a new one
        response = {};
        ec = impl_->connect();
        if (!ec) ec = impl_->exchange(request, response);
    }
    if (ec) {
        impl_->connected = false;
        return Status(Errc::io, "POST http://" + impl_->host + ":" + std::to_string(impl_->port) + target + ": " + ec.message());
    }
    if (!response.keep_alive()) impl_->connected = false;
    HttpReply reply;
    reply.status = response.result_int();
    if (auto it = response.find("x-aicache"); it != response.end()) reply.cache_outcome = std::string(it->value());
    reply.body = std::move(response.body());
    return reply;
}

} // namespace aicache::server
