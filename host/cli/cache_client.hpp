// The answer cache as a one-shot command (exec) sees it: the running host's, through its control
// socket, when a host serves this data directory; otherwise the data plane opened here for the
// length of the command, with a semantic matcher of its own when an encoder is named (a host uses
// its own matcher and ignores ours).
#pragma once

#include "cache/semantic_matcher.hpp"
#include "cli/data_plane.hpp"
#include "cli/semantic_options.hpp"

#include <nlohmann/json.hpp>

#include <memory>

namespace aicache::cli {

class CacheClient {
public:
    CacheClient(DataPlaneOptions plane, SemanticArgs semantic) : plane_(std::move(plane)), semantic_(std::move(semantic)) {}
    ~CacheClient(); // a local matcher saves its index snapshot and what its threshold learner learned
    CacheClient(const CacheClient &) = delete;
    CacheClient &operator=(const CacheClient &) = delete;

    // A cache API request (server/cache_api.hpp).
    Expected<nlohmann::json> request(const nlohmann::json &request);

private:
    Status open_locally();

    DataPlaneOptions plane_;
    SemanticArgs semantic_;
    std::unique_ptr<DataPlane> local_;
    std::unique_ptr<cache::SemanticMatcher> matcher_;
};

} // namespace aicache::cli
