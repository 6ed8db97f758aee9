#include "cli/semantic_options.hpp"

#include "cli/common.hpp"
#include "core/files.hpp"
#include "core/log.hpp"
#include "store/learner_checkpoints.hpp"

#include <CLI/CLI.hpp>

namespace aicache::cli {

void add_semantic_options(CLI::App &command, SemanticArgs &args) {
    command.add_option("--encoder", args.encoder, "Answer paraphrases: the learner that embeds questions (e.g. encoder); unset: exact matches only");
    command.add_option("--encoder-checkpoint", args.encoder_checkpoint,
                       "A trained encoder's saved state (eval semantic --save-checkpoint); default: its active checkpoint (aicache learner list)");
    command.add_option("--threshold", args.threshold, "The learner that decides when a paraphrase may be served")->capture_default_str();
    command.add_option("--semantic-score", args.score, "What the threshold learner judges: relation (the relation head) or cosine")
        ->capture_default_str();
    command.add_option("--semantic-neighbours", args.neighbours, "Cached questions re-scored per lookup (k)")->capture_default_str();
    command.add_option("--semantic-pooling", args.pooling,
                       "How the k neighbours decide: attention (an entry's verified paraphrases vote with it) or nearest (the best one alone)")
        ->capture_default_str();
    command.add_option("--semantic-temperature", args.temperature, "Of the attention over the neighbours' scores (high: a vote)")
        ->capture_default_str();
    command.add_option("--threshold-config", args.threshold_config, "Its configuration, e.g. {\"delta\": 0.02}")->capture_default_str();
}

std::optional<std::string> active_checkpoint(store::Database &db, const std::filesystem::path &data, const loader::PluginLibrary &learner) {
    store::LearnerCheckpoints checkpoints(db, data / "checkpoints");
    const auto &facts = learner.facts();
    auto active = checkpoints.active(facts.name);
    if (!active) {
        spdlog::error("{}: no checkpoint loaded: {}", facts.name, active.error().message());
        return std::nullopt;
    }
    if (!*active) return std::nullopt;
    if ((*active)->state_format != facts.state_format) {
        spdlog::error("{}: active checkpoint #{} is of state format {}, this build reads {}: serving untrained (aicache learner train)", facts.name,
                      (*active)->id, (*active)->state_format, facts.state_format);
        return std::nullopt;
    }
    auto bytes = checkpoints.read(**active);
    if (!bytes) {
        spdlog::error("{}: serving untrained: {}", facts.name, bytes.error().message());
        return std::nullopt;
    }
    spdlog::info("{}: loaded active checkpoint #{} ({})", facts.name, (*active)->id, (*active)->sha256.substr(0, 12));
    return std::move(*bytes);
}

Expected<std::unique_ptr<cache::SemanticMatcher>> open_matcher(const SemanticArgs &args, DataPlane &plane) {
    if (args.score != "relation" && args.score != "cosine")
        return Status(Errc::invalid_argument, "--semantic-score must be relation or cosine, not " + args.score);
    cache::SemanticMatcherOptions options;
    if (!cache::parse_pooling(args.pooling, options.pooling))
        return Status(Errc::invalid_argument, "--semantic-pooling must be attention or nearest, not " + args.pooling);
    if (args.neighbours == 0) return Status(Errc::invalid_argument, "--semantic-neighbours must be at least 1");
    if (!(args.temperature > 0)) return Status(Errc::invalid_argument, "--semantic-temperature must be positive");
    options.neighbours = args.neighbours;
    options.temperature = args.temperature;
    auto encoder = open_learner(args.encoder, plane.plugins);
    if (!encoder) return encoder.error().with_context("--encoder");
    auto threshold = open_learner(args.threshold, plane.plugins);
    if (!threshold) return threshold.error().with_context("--threshold");
    options.learned_pairs = plane.data / "learned-pairs.jsonl"; // for aicache learner train --pairs
    options.threshold_config = args.threshold_config;
    options.relation_score = args.score == "relation";
    if (!args.encoder_checkpoint.empty()) {
        auto checkpoint = read_file(args.encoder_checkpoint);
        if (!checkpoint) return checkpoint.error().with_context("--encoder-checkpoint");
        options.encoder_checkpoint = std::move(*checkpoint);
    } else {
        options.encoder_checkpoint = active_checkpoint(*plane.db, plane.data, **encoder);
    }
    return cache::SemanticMatcher::open(*plane.db, plane.data / "semantic-index", *encoder, *threshold, options);
}

} // namespace aicache::cli
