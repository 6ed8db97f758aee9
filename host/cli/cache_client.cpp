#include "cli/cache_client.hpp"

#include "cli/common.hpp"
#include "core/log.hpp"
#include "server/cache_api.hpp"
#include "server/control_socket.hpp"

namespace aicache::cli {

CacheClient::~CacheClient() {
    if (matcher_)
        if (Status saved = matcher_->snapshot(); !saved) spdlog::warn("semantic index snapshot not written (rebuilt next time): {}", saved.message());
}

Status CacheClient::open_locally() {
    auto plane = open_data_plane(plane_);
    if (!plane) return plane.error();
    local_ = std::move(*plane);
    if (semantic_.encoder.empty()) return Status::ok();
    auto matcher = open_matcher(semantic_, *local_);
    // Without its matcher the cache still answers exact repeats.
    if (!matcher) spdlog::warn("semantic matching off for this run: {}", matcher.error().message());
    else matcher_ = std::move(*matcher);
    return Status::ok();
}

Expected<nlohmann::json> CacheClient::request(const nlohmann::json &request) {
    if (!local_) {
        auto online = server::control_request(data_dir(plane_.data) / "control.sock", request);
        if (online) {
            nlohmann::json answer = nlohmann::json::parse(*online, nullptr, false);
            if (answer.is_discarded()) return Status(Errc::io, "the host answered with something that is not JSON");
            return answer;
        }
        if (online.error().code() != Errc::not_found) return online.error();
        if (Status opened = open_locally(); !opened) return opened;
    }
    return server::handle_cache_request(*local_->cache, request, matcher_.get());
}

} // namespace aicache::cli
