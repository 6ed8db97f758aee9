#include "cache/semantic_matcher.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace aicache::cache {

Expected<std::unique_ptr<SemanticMatcher>> SemanticMatcher::open(store::Database &db, const std::filesystem::path &snapshot_dir,
                                                                 std::shared_ptr<const loader::PluginLibrary> encoder,
                                                                 std::shared_ptr<const loader::PluginLibrary> threshold,
                                                                 const SemanticMatcherOptions &options) {
    auto enc = loader::LearnerInstance::create(encoder, options.encoder_config);
    if (!enc) return enc.error();
    if (options.encoder_checkpoint)
        if (Status loaded = enc->load_state(*options.encoder_checkpoint); !loaded) return loaded.with_context("encoder checkpoint");
    auto thr = loader::LearnerInstance::create(threshold, options.threshold_config);
    if (!thr) return thr.error();
    auto info = enc->infer(R"({"op":"info"})");
    if (!info) return info.error();
    nlohmann::json parsed = nlohmann::json::parse(*info, nullptr, false);
    std::set<std::string> ops;
    for (const auto &op : parsed.value("ops", nlohmann::json::array())) ops.insert(op.get<std::string>());
    if (!ops.count("embed")) return Status(Errc::invalid_argument, encoder->facts().name + " does not embed texts: it cannot be the encoder");
    size_t dim = parsed.value("dim", size_t(0));
    if (dim == 0) return Status(Errc::invalid_argument, encoder->facts().name + ": info names no \"dim\"");

    std::unique_ptr<SemanticMatcher> self(new SemanticMatcher(std::move(*enc), std::move(*thr)));
    self->has_match_ = options.relation_score && ops.count("match") != 0;
    self->has_relate_ = self->has_match_ && ops.count("relate") != 0;
    self->neighbours_ = std::max<size_t>(1, options.neighbours);
    // Embeddings of another model (or another checkpoint) do not compare with this one's.
    self->model_ = encoder->facts().name + " " + encoder->facts().version + " " + encoder->facts().content_hash.substr(0, 16) +
                   (options.encoder_checkpoint ? " " + std::to_string(hash64(*options.encoder_checkpoint, 0)) : "");
    auto index = DurableSemanticIndex::open(db, snapshot_dir, dim, self->model_);
    if (!index) return index.error();
    self->index_ = std::move(*index);
    if (Status reembedded = self->embed_stale_questions(); !reembedded) return reembedded.with_context("re-embedding cached questions");
    self->learned_pairs_ = options.learned_pairs;
    self->threshold_state_ = snapshot_dir.string() + "." + threshold->facts().name + ".state";
    if (std::filesystem::exists(self->threshold_state_)) {
        auto state = read_file(self->threshold_state_);
        Status loaded = state ? self->threshold_.load_state(*state) : state.error();
        // A state this version cannot read costs what was learned, not the service.
        if (!loaded) spdlog::warn("semantic matching: {} starts afresh: {}", threshold->facts().name, loaded.message());
    }
    return self;
}

// Questions cached under another model (a new checkpoint, a new encoder build) are embedded again
// by this one, so answers cached before a model change stay findable after it.
Status SemanticMatcher::embed_stale_questions() {
    auto stale = index_->stale_entries();
    if (!stale) return stale.error();
    if (stale->empty()) return Status::ok();
    spdlog::info("semantic index: embedding {} cached questions again with {}", stale->size(), model_);
    constexpr size_t kBatch = 256;
    for (size_t at = 0; at < stale->size(); at += kBatch) {
        std::vector<store::SemanticVectors::Entry> batch(stale->begin() + at, stale->begin() + std::min(stale->size(), at + kBatch));
        std::vector<std::string> questions;
        for (const auto &e : batch) questions.push_back(e.question);
        size_t dim = 0;
        auto rows = encoder_.embed(questions, dim);
        if (!rows) return rows.error();
        std::vector<std::vector<float>> vectors;
        for (size_t i = 0; i < batch.size(); ++i) vectors.emplace_back(rows->begin() + i * dim, rows->begin() + (i + 1) * dim);
        if (Status added = index_->add_many(batch, vectors); !added) return added;
    }
    return Status::ok();
}

Status SemanticMatcher::snapshot() {
    if (Status saved = index_->snapshot(); !saved) return saved;
    std::lock_guard lock(learners_mutex_);
    auto state = threshold_.save_state();
    if (!state) return state.error();
    return write_file_atomic(threshold_state_, *state);
}

Expected<std::vector<float>> SemanticMatcher::embed(const std::string &text) {
    size_t dim = 0;
    return encoder_.embed({text}, dim);
}

Status SemanticMatcher::remember(uint64_t scope, uint64_t key_hash, const std::string &canonical_key, const std::string &question) {
    std::vector<float> vector;
    {
        std::lock_guard lock(learners_mutex_);
        auto v = embed(question);
        if (!v) return v.error();
        vector = std::move(*v);
    }
    return index_->add(scope, key_hash, vector, question, canonical_key);
}

Expected<std::optional<SemanticCandidate>> SemanticMatcher::find(uint64_t scope, const std::string &question) {
    std::lock_guard lock(learners_mutex_);
    auto vector = embed(question);
    if (!vector) return vector.error();
    // With `relate` the relation head scores the stored embeddings: the cached questions are not embedded again.
    std::vector<Neighbour> near = index_->search(scope, *vector, neighbours_, has_relate_);
    std::vector<std::span<const float>> stored;
    std::vector<SemanticCandidate> candidates;
    for (const Neighbour &n : near) {
        auto entry = index_->entry(n.key);
        if (!entry) continue;
        SemanticCandidate c;
        c.scope = scope;
        c.key_hash = n.key;
        c.canonical_key = entry->canonical_key;
        c.cached_question = entry->question;
        c.question = question;
        c.similarity = n.similarity;
        c.score = n.similarity;
        candidates.push_back(std::move(c));
        stored.emplace_back(n.vector);
    }
    if (candidates.empty()) return std::optional<SemanticCandidate>{};
    if (has_relate_) {
        auto scores = encoder_.relate(*vector, stored);
        if (!scores) return scores.error();
        for (size_t i = 0; i < candidates.size(); ++i) candidates[i].score = (*scores)[i];
    } else if (has_match_) {
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto &c : candidates) pairs.emplace_back(c.cached_question, question);
        auto scores = encoder_.match(pairs);
        if (!scores) return scores.error();
        for (size_t i = 0; i < candidates.size(); ++i) candidates[i].score = (*scores)[i];
    }
    SemanticCandidate best = *std::max_element(candidates.begin(), candidates.end(),
                                               [](const SemanticCandidate &a, const SemanticCandidate &b) { return a.score < b.score; });
    auto decided = threshold_.infer(nlohmann::json{{"op", "decide"}, {"key", best.key_hash}, {"similarity", best.score}}.dump());
    if (!decided) return decided.error();
    nlohmann::json decision = nlohmann::json::parse(*decided, nullptr, false);
    if (decision.is_discarded() || !decision.contains("exploit") || !decision["exploit"].is_boolean())
        return Status(Errc::plugin, threshold_.library().facts().name + ": decide answered " + decided->substr(0, 200));
    best.serve = decision["exploit"].get<bool>();
    best.why = decision.value("why", std::string());
    return std::optional<SemanticCandidate>(std::move(best));
}

Status SemanticMatcher::outcome(const SemanticCandidate &candidate, bool right) {
    aicache_example example{};
    example.struct_size = sizeof example;
    example.type = AICACHE_EXAMPLE_MATCH_OUTCOME;
    example.key = candidate.key_hash;
    example.label = right ? 1 : 0;
    example.score = candidate.score;
    std::lock_guard lock(learners_mutex_);
    Status told = threshold_.observe(example);
    if (!learned_pairs_.empty() && !candidate.question.empty()) {
        std::string line = nlohmann::json{{"a", candidate.cached_question}, {"b", candidate.question}, {"label", right ? 1 : 0}}.dump() + "\n";
        // A pair not kept costs a training example, not the answer: say so and go on.
        if (Status kept = append_file(learned_pairs_, line); !kept) spdlog::warn("learned pair not kept: {}", kept.message());
    }
    return told;
}

Status SemanticMatcher::forget(uint64_t scope, uint64_t key_hash) { return index_->remove(scope, key_hash); }

namespace {

std::string assistant_text(std::string_view answer_json) {
    nlohmann::json answer = nlohmann::json::parse(answer_json, nullptr, false);
    if (answer.is_discarded() || !answer.contains("choices") || !answer["choices"].is_array() || answer["choices"].empty()) return {};
    const auto &choice = answer["choices"][0];
    if (choice.contains("message") && choice["message"].is_object() && choice["message"].contains("content") &&
        choice["message"]["content"].is_string())
        return choice["message"]["content"].get<std::string>();
    if (choice.contains("text") && choice["text"].is_string()) return choice["text"].get<std::string>();
    return {};
}

std::set<std::string> words(std::string_view text) {
    std::set<std::string> out;
    std::string current;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c >= 0x80) current += static_cast<char>(std::tolower(c));
        else if (!current.empty()) out.insert(std::move(current)), current.clear();
    }
    if (!current.empty()) out.insert(std::move(current));
    return out;
}

} // namespace

bool answers_agree(std::string_view cached_answer_json, std::string_view fresh_answer_json) {
    return texts_agree(assistant_text(cached_answer_json), assistant_text(fresh_answer_json));
}

bool texts_agree(std::string_view cached, std::string_view fresh) {
    std::set<std::string> a = words(cached), b = words(fresh);
    if (a.empty() || b.empty()) return false;
    size_t common = 0;
    for (const auto &w : a) common += b.count(w);
    return double(common) / double(a.size() + b.size() - common) >= 0.8;
}

} // namespace aicache::cache
