// Semantic matching for the data plane: a question that missed the exact cache is embedded by
// the encoder learner, its nearest cached questions in the same scope are found in the semantic
// index, the relation head re-scores them against the question, and the threshold learner decides
// whether the best one may be served or must be explored. An explored candidate's outcome (did
// the fresh upstream answer agree with the cached one?) is told to the threshold learner. Learner
// calls are serialized here (the ABI promises plugins one caller at a time).
#pragma once

#include "cache/durable_semantic_index.hpp"
#include "cache/neighbour_vote.hpp"
#include "core/status.hpp"
#include "loader/learner_instance.hpp"

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace aicache::cache {

struct SemanticCandidate {
    uint64_t scope = 0, key_hash = 0; // key_hash: the cached entry (never an alias)
    std::string canonical_key;
    std::string cached_question; // the entry's question, or the verified paraphrase of it that matched
    std::string question; // the new question it was matched against
    float similarity = 0; // embedding cosine
    float score = 0;      // the entry's pooled estimate over the neighbours (relation head; cosine without a match op)
    size_t members = 1;   // how many of the k neighbours were the entry or its aliases
    bool serve = false;
    std::string why;      // the threshold learner's reason
    bool canary = false;  // found by a model on canary (see SemanticMatcher::start_canary)
};

// What one side of a model canary did: questions matched, answers served from the cache, and
// judged outcomes (explorations compared with the fresh answer, users' feedback).
struct MatchCounts {
    uint64_t lookups = 0, served = 0, right = 0, wrong = 0;
    uint64_t busy_us = 0; // microseconds the model spent answering the lookups (embedding, search, scoring)
    MatchCounts operator-(const MatchCounts &o) const {
        return {lookups - o.lookups, served - o.served, right - o.right, wrong - o.wrong, busy_us - o.busy_us};
    }
};
struct ModelCanaryCounts {
    std::string serving, canary; // the two models' tags
    MatchCounts serving_counts, canary_counts;
};

struct SemanticMatcherOptions {
    // Candidates re-scored per question, then pooled by entry. Defaults chosen with `aicache eval
    // fewshot` on two independent held-out halves of QQP (README: "Paraphrases verified by use").
    size_t neighbours = 4;
    Pooling pooling = Pooling::attention;
    float temperature = 16.0f; // of the attention over the neighbours' logits: high = a vote
    size_t max_aliases = 8;   // verified paraphrases kept per entry
    bool relation_score = true; // the relation head's estimate when the encoder has one; false: the cosine
    std::string encoder_config = "{}", threshold_config = "{}";
    std::optional<std::string> encoder_checkpoint; // a trained encoder's saved state
    // Where every judged match (an exploration compared with the fresh answer, a user's feedback)
    // is appended as a labelled pair, {"a": cached question, "b": question, "label": 0|1} per
    // line: training data for `aicache learner train`. Empty: not kept.
    std::filesystem::path learned_pairs;
};

class SemanticMatcher {
public:
    static Expected<std::unique_ptr<SemanticMatcher>> open(store::Database &db, const std::filesystem::path &snapshot_dir,
                                                           std::shared_ptr<const loader::PluginLibrary> encoder,
                                                           std::shared_ptr<const loader::PluginLibrary> threshold, const SemanticMatcherOptions &options);
    ~SemanticMatcher();

    // After an answer was stored under (scope, key_hash): its question becomes findable.
    Status remember(uint64_t scope, uint64_t key_hash, const std::string &canonical_key, const std::string &question);
    Expected<std::optional<SemanticCandidate>> find(uint64_t scope, const std::string &question);
    // Whether serving the candidate's answer was (or would have been) right: told to the threshold
    // learner, and kept as a labelled pair; a right one also teaches the question as an alias.
    Status outcome(const SemanticCandidate &candidate, bool right);
    // A verified paraphrase of the cached entry (scope, key_hash): indexed as its alias, so a
    // question phrased like it finds the entry, and the entry's neighbours pool their evidence
    // (few-shot: a cluster grows from verified members without retraining the encoder). Up to
    // max_aliases per entry; returns whether it was added (not: unknown entry, already known, full).
    Expected<bool> teach(uint64_t scope, uint64_t key_hash, const std::string &question);
    Status forget(uint64_t scope, uint64_t key_hash);
    // The index snapshot and the threshold learner's state (what it learned of outcomes), both
    // loaded again by open().
    Status snapshot();
    // Serves with another encoder checkpoint (none: untrained) from now on, without stopping: the
    // new model embeds every cached question while the old one goes on serving, then takes over.
    // The threshold learner's knowledge is of the old model's scores, so it is kept (saved under
    // that model's name, restored if the model comes back) and the new model starts with its own.
    struct Reloaded {
        std::string model;
        size_t reembedded = 0;
        double seconds = 0;
    };
    Expected<Reloaded> reload(const std::optional<std::string> &encoder_checkpoint);
    // A canary of another checkpoint: it embeds every cached question as reload does, then
    // matches `share` of the questions (by a hash of the text, so a question always meets the same
    // model) while the serving model matches the rest; both index what is cached from then on.
    // One canary at a time (Errc::busy). end_canary promotes it (it matches every question, as
    // after reload) or drops it; what each side did is counted from the start.
    Expected<Reloaded> start_canary(const std::optional<std::string> &encoder_checkpoint, double share);
    Status end_canary(bool promote);
    [[nodiscard]] std::optional<ModelCanaryCounts> canary_counts() const;
    [[nodiscard]] size_t size() const;
    [[nodiscard]] std::string model() const;
    [[nodiscard]] const loader::PluginLibrary &encoder_library() const { return *encoder_library_; }
    [[nodiscard]] std::shared_ptr<const loader::PluginLibrary> encoder_plugin() const { return encoder_library_; }

private:
    struct Model; // what changes with the encoder's checkpoint: the learner instances, the index
    SemanticMatcher() = default;
    Expected<std::unique_ptr<Model>> load_model(const std::optional<std::string> &encoder_checkpoint);
    static Expected<size_t> embed_stale_questions(Model &model);
    Status save_threshold_state(Model &model);

    store::Database *db_ = nullptr;
    std::filesystem::path snapshot_dir_, learned_pairs_;
    std::shared_ptr<const loader::PluginLibrary> encoder_library_, threshold_library_;
    SemanticMatcherOptions options_;
    // The ABI promises a plugin one caller at a time: every learner call happens under this lock,
    // and so does every read of model_.
    mutable std::mutex learners_mutex_;
    // Shared so a writer to the index (remember, forget) can leave the lock before its SQLite
    // write: learner calls stay serialized, disk writes do not hold up lookups.
    std::shared_ptr<Model> model_;
    // A model on canary, the share of questions it matches (per ten thousand), and both sides' counts.
    std::shared_ptr<Model> canary_;
    uint64_t canary_share_ = 0;
    MatchCounts serving_counts_, canary_counts_;
    std::mutex reload_mutex_; // one reload at a time
    // The models a write goes to (under learners_mutex_): the serving one and any on canary.
    [[nodiscard]] std::vector<std::shared_ptr<Model>> models_locked() const;
    // `question` embedded by each of `models` (under learners_mutex_: learner calls are serialized).
    static Expected<std::vector<std::vector<float>>> embed_with_each(const std::vector<std::shared_ptr<Model>> &models, const std::string &question);
    // The model that matches `question`, and whether it is the canary.
    [[nodiscard]] std::pair<Model *, bool> model_for_locked(const std::string &question) const;
    Expected<std::unique_ptr<Model>> loaded_and_embedded(const std::optional<std::string> &encoder_checkpoint, size_t &reembedded);
};

// Whether two OpenAI-style answers say the same: the assistant texts, lower-cased and split into
// words, share at least 80% of their distinct words (Jaccard). Cheap, and conservative: a wrong
// "same" would teach the threshold learner that a wrong match was right.
bool answers_agree(std::string_view cached_answer_json, std::string_view fresh_answer_json);
// The same test on plain texts (a command-line tool's outputs).
bool texts_agree(std::string_view cached, std::string_view fresh);

} // namespace aicache::cache
