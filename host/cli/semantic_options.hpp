// The flags that turn on semantic matching (serve, exec) and the matcher they open: the encoder
// and threshold learners, qualified in a child first, with the encoder's active checkpoint from
// the knowledge repository unless a checkpoint file is named.
#pragma once

#include "cache/semantic_matcher.hpp"
#include "cli/data_plane.hpp"
#include "core/status.hpp"

#include <memory>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace aicache::cli {

struct SemanticArgs {
    std::string encoder; // empty: exact matches only
    std::string encoder_checkpoint, threshold = "threshold", threshold_config = "{}", score = "relation";
    // The matching step over the k nearest cached questions (cache/neighbour_vote.hpp).
    std::string pooling = "attention";
    size_t neighbours = cache::SemanticMatcherOptions{}.neighbours;
    float temperature = cache::SemanticMatcherOptions{}.temperature;
};

void add_semantic_options(CLI::App &command, SemanticArgs &args);

// The matcher over the data plane's store, its index snapshot in <data>/semantic-index, learned
// pairs appended to <data>/learned-pairs.jsonl.
Expected<std::unique_ptr<cache::SemanticMatcher>> open_matcher(const SemanticArgs &args, DataPlane &plane);

// The learner's active checkpoint in the knowledge repository (aicache learner train), when this
// build can read it. One it cannot (another state format, a damaged file) costs what was learned,
// not the service: the reason is logged and the untrained model serves.
std::optional<std::string> active_checkpoint(store::Database &db, const std::filesystem::path &data, const loader::PluginLibrary &learner);

} // namespace aicache::cli
