// A plain HTTP/1.1 client on one kept-alive connection, for driving a host over loopback (the
// demo's workload, benchmarks): POST a JSON body, get the status, the x-aicache header and the
// body. Reconnects once when the server closed the connection between requests. Not for TLS or
// for the internet: the proxy has its own upstream client.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace aicache::server {

struct HttpReply {
    unsigned status = 0;
    std::string cache_outcome; // the x-aicache header: hit, semantic-hit, miss, bypass (empty when absent)
    std::string body;
};

class HttpConnection {
public:
    HttpConnection(std::string host, uint16_t port);
    ~HttpConnection();
    HttpConnection(const HttpConnection &) = delete;
    HttpConnection &operator=(const HttpConnection &) = delete;

    Expected<HttpReply> post(const std::string &target, const std::string &json_body);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace aicache::server
