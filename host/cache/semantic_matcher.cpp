#include "cache/semantic_matcher.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "core/log.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

namespace aicache::cache {

struct SemanticMatcher::Model {
    Model(loader::LearnerInstance e, loader::LearnerInstance t) : encoder(std::move(e)), threshold(std::move(t)) {}
    loader::LearnerInstance encoder, threshold;
    bool has_match = false, has_relate = false;
    size_t neighbours = 4;
    std::string tag; // names the embeddings: encoder build and checkpoint
    std::filesystem::path threshold_state;
    std::unique_ptr<DurableSemanticIndex> index;
};

Expected<std::unique_ptr<SemanticMatcher::Model>> SemanticMatcher::load_model(const std::optional<std::string> &encoder_checkpoint) {
    auto enc = loader::LearnerInstance::create(encoder_library_, options_.encoder_config);
    if (!enc) return enc.error();
    if (encoder_checkpoint)
        if (Status loaded = enc->load_state(*encoder_checkpoint); !loaded) return loaded.with_context("encoder checkpoint");
    auto thr = loader::LearnerInstance::create(threshold_library_, options_.threshold_config);
    if (!thr) return thr.error();
    auto info = enc->infer(R"({"op":"info"})");
    if (!info) return info.error();
    nlohmann::json parsed = nlohmann::json::parse(*info, nullptr, false);
    std::set<std::string> ops;
    for (const auto &op : parsed.value("ops", nlohmann::json::array())) ops.insert(op.get<std::string>());
    const auto &facts = encoder_library_->facts();
    if (!ops.count("embed")) return Status(Errc::invalid_argument, facts.name + " does not embed texts: it cannot be the encoder");
    size_t dim = parsed.value("dim", size_t(0));
    if (dim == 0) return Status(Errc::invalid_argument, facts.name + ": info names no \"dim\"");

    auto model = std::make_unique<Model>(std::move(*enc), std::move(*thr));
    model->has_match = options_.relation_score && ops.count("match") != 0;
    model->has_relate = model->has_match && ops.count("relate") != 0;
    model->neighbours = std::max<size_t>(1, options_.neighbours);
    // Embeddings of another model (or another checkpoint) do not compare with this one's.
    model->tag = facts.name_and_version() + " " + facts.content_hash.substr(0, 16) +
                 (encoder_checkpoint ? " " + std::to_string(hash64(*encoder_checkpoint, 0)) : "");
    // What the threshold learner learns is of this model's scores: one state per model.
    model->threshold_state =
        snapshot_dir_.string() + "." + threshold_library_->facts().name + "." + fmt::format("{:016x}", hash64(model->tag, 0)) + ".state";
    if (std::filesystem::exists(model->threshold_state)) {
        auto state = read_file(model->threshold_state);
        Status loaded = state ? model->threshold.load_state(*state) : state.error();
        // A state this version cannot read costs what was learned, not the service.
        if (!loaded) spdlog::warn("semantic matching: {} starts afresh: {}", threshold_library_->facts().name, loaded.message());
    }
    auto index = DurableSemanticIndex::open(*db_, snapshot_dir_, dim, model->tag);
    if (!index) return index.error();
    model->index = std::move(*index);
    return model;
}

Expected<std::unique_ptr<SemanticMatcher>> SemanticMatcher::open(store::Database &db, const std::filesystem::path &snapshot_dir,
                                                                 std::shared_ptr<const loader::PluginLibrary> encoder,
                                                                 std::shared_ptr<const loader::PluginLibrary> threshold,
                                                                 const SemanticMatcherOptions &options) {
    std::unique_ptr<SemanticMatcher> self(new SemanticMatcher());
    self->db_ = &db;
    self->snapshot_dir_ = snapshot_dir;
    self->learned_pairs_ = options.learned_pairs;
    self->encoder_library_ = std::move(encoder);
    self->threshold_library_ = std::move(threshold);
    self->options_ = options;
    auto model = self->load_model(options.encoder_checkpoint);
    if (!model) return model.error();
    if (auto reembedded = embed_stale_questions(**model); !reembedded) return reembedded.error().with_context("re-embedding cached questions");
    self->model_ = std::move(*model);
    return self;
}

SemanticMatcher::~SemanticMatcher() = default;

// Questions cached under another model (a new checkpoint, a new encoder build) are embedded again
// by this one, so answers cached before a model change stay findable after it.
Expected<size_t> SemanticMatcher::embed_stale_questions(Model &model) {
    auto stale = model.index->stale_entries();
    if (!stale) return stale.error();
    if (stale->empty()) return size_t(0);
    spdlog::info("semantic index: embedding {} cached questions again with {}", stale->size(), model.tag);
    constexpr size_t kBatch = 256;
    for (size_t at = 0; at < stale->size(); at += kBatch) {
        std::vector<store::SemanticVectors::Entry> batch(stale->begin() + at, stale->begin() + std::min(stale->size(), at + kBatch));
        std::vector<std::string> questions;
        for (const auto &e : batch) questions.push_back(e.question);
        size_t dim = 0;
        auto rows = model.encoder.embed(questions, dim);
        if (!rows) return rows.error();
        std::vector<std::vector<float>> vectors;
        for (size_t i = 0; i < batch.size(); ++i) vectors.emplace_back(rows->begin() + i * dim, rows->begin() + (i + 1) * dim);
        if (Status added = model.index->add_many(batch, vectors); !added) return added;
    }
    return stale->size();
}

Expected<std::unique_ptr<SemanticMatcher::Model>> SemanticMatcher::loaded_and_embedded(const std::optional<std::string> &encoder_checkpoint,
                                                                                       size_t &reembedded) {
    auto next = load_model(encoder_checkpoint); // its own learner instances: no lock needed yet
    if (!next) return next.error();
    // The bulk of the work while the current model serves; what it caches meanwhile is stored
    // under its own tag and picked up by the caller's second pass, under the lock.
    auto bulk = embed_stale_questions(**next);
    if (!bulk) return bulk.error();
    reembedded = *bulk;
    return next;
}

Expected<SemanticMatcher::Reloaded> SemanticMatcher::reload(const std::optional<std::string> &encoder_checkpoint) {
    std::lock_guard one_at_a_time(reload_mutex_);
    {
        std::lock_guard lock(learners_mutex_);
        if (canary_) return Status(Errc::busy, "model " + canary_->tag + " is on canary: it ends first (promoted or rolled back)");
    }
    const auto started = std::chrono::steady_clock::now();
    Reloaded done;
    auto next = loaded_and_embedded(encoder_checkpoint, done.reembedded);
    if (!next) return next.error();
    std::shared_ptr<Model> previous;
    {
        std::lock_guard lock(learners_mutex_);
        auto rest = embed_stale_questions(**next);
        if (!rest) return rest.error();
        done.reembedded += *rest;
        previous = std::move(model_);
        model_ = std::move(*next);
        done.model = model_->tag;
    }
    if (Status saved = save_threshold_state(*previous); !saved) spdlog::warn("threshold state of {} not kept: {}", previous->tag, saved.message());
    done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("semantic matching now uses {} ({} questions embedded again in {:.1f} s)", done.model, done.reembedded, done.seconds);
    return done;
}

Expected<SemanticMatcher::Reloaded> SemanticMatcher::start_canary(const std::optional<std::string> &encoder_checkpoint, double share) {
    std::lock_guard one_at_a_time(reload_mutex_);
    if (!(share > 0 && share < 1)) return Status(Errc::invalid_argument, "a model canary's share must lie in (0, 1)");
    {
        std::lock_guard lock(learners_mutex_);
        if (canary_) return Status(Errc::busy, "model " + canary_->tag + " is on canary already");
    }
    const auto started = std::chrono::steady_clock::now();
    Reloaded done;
    auto next = loaded_and_embedded(encoder_checkpoint, done.reembedded);
    if (!next) return next.error();
    {
        std::lock_guard lock(learners_mutex_);
        auto rest = embed_stale_questions(**next);
        if (!rest) return rest.error();
        done.reembedded += *rest;
        if ((*next)->tag == model_->tag) return Status(Errc::invalid_argument, "model " + model_->tag + " is the one serving already");
        canary_ = std::move(*next);
        canary_share_ = static_cast<uint64_t>(share * 10000);
        serving_counts_ = canary_counts_ = {};
        done.model = canary_->tag;
    }
    done.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("semantic matching: {} on canary for {:.0f}% of questions ({} questions embedded in {:.1f} s)", done.model, 100 * share,
                 done.reembedded, done.seconds);
    return done;
}

Status SemanticMatcher::end_canary(bool promote) {
    std::lock_guard one_at_a_time(reload_mutex_);
    std::shared_ptr<Model> retired;
    {
        std::lock_guard lock(learners_mutex_);
        if (!canary_) return Status(Errc::not_found, "no model is on canary");
        if (promote) {
            retired = std::move(model_);
            model_ = std::move(canary_);
        } else {
            retired = std::move(canary_);
        }
        canary_.reset();
    }
    // What the canary wrote to the durable index is under its tag: a model that serves on finds
    // those rows stale at its next start and embeds them again.
    if (Status saved = save_threshold_state(*retired); !saved) spdlog::warn("threshold state of {} not kept: {}", retired->tag, saved.message());
    spdlog::info("semantic matching: canary {} ({})", promote ? "promoted" : "dropped", promote ? model() : retired->tag);
    return Status::ok();
}

std::optional<ModelCanaryCounts> SemanticMatcher::canary_counts() const {
    std::lock_guard lock(learners_mutex_);
    if (!canary_) return std::nullopt;
    return ModelCanaryCounts{model_->tag, canary_->tag, serving_counts_, canary_counts_};
}

std::vector<std::shared_ptr<SemanticMatcher::Model>> SemanticMatcher::models_locked() const {
    std::vector<std::shared_ptr<Model>> out{model_};
    if (canary_) out.push_back(canary_);
    return out;
}

Expected<std::vector<std::vector<float>>> SemanticMatcher::embed_with_each(const std::vector<std::shared_ptr<Model>> &models, const std::string &question) {
    std::vector<std::vector<float>> vectors;
    for (const auto &model : models) {
        size_t dim = 0;
        auto embedded = model->encoder.embed({question}, dim);
        if (!embedded) return embedded.error();
        vectors.push_back(std::move(*embedded));
    }
    return vectors;
}

std::pair<SemanticMatcher::Model *, bool> SemanticMatcher::model_for_locked(const std::string &question) const {
    // By the text, not at random: a question asked again meets the same model, as a user would.
    if (canary_ && hash64(question, 0x63616e617279) % 10000 < canary_share_) return {canary_.get(), true};
    return {model_.get(), false};
}

Status SemanticMatcher::save_threshold_state(Model &model) {
    auto state = model.threshold.save_state();
    if (!state) return state.error();
    return write_file_atomic(model.threshold_state, *state);
}

Status SemanticMatcher::snapshot() {
    std::lock_guard lock(learners_mutex_);
    if (Status saved = model_->index->snapshot(); !saved) return saved;
    return save_threshold_state(*model_);
}

size_t SemanticMatcher::size() const {
    std::lock_guard lock(learners_mutex_);
    return model_->index->size();
}

std::string SemanticMatcher::model() const {
    std::lock_guard lock(learners_mutex_);
    return model_->tag;
}

Status SemanticMatcher::remember(uint64_t scope, uint64_t key_hash, const std::string &canonical_key, const std::string &question) {
    std::vector<std::shared_ptr<Model>> models;
    std::vector<std::vector<float>> vectors;
    {
        std::lock_guard lock(learners_mutex_);
        models = models_locked();
        auto embedded = embed_with_each(models, question);
        if (!embedded) return embedded.error();
        vectors = std::move(*embedded);
    }
    // If a reload swapped models meanwhile, the row lands under the old model's tag: the next start
    // embeds it again, so the question is missing from the new index only until then.
    for (size_t i = 0; i < models.size(); ++i)
        if (Status added = models[i]->index->add(scope, key_hash, vectors[i], question, canonical_key); !added) return added;
    return Status::ok();
}

Expected<std::optional<SemanticCandidate>> SemanticMatcher::find(uint64_t scope, const std::string &question) {
    std::lock_guard lock(learners_mutex_);
    auto [chosen, on_canary] = model_for_locked(question);
    Model &m = *chosen;
    MatchCounts &counts = on_canary ? canary_counts_ : serving_counts_;
    ++counts.lookups;
    // Every way out of the lookup counts its time to the model that answered (a canary that is
    // slower than the serving model is rolled back for it).
    struct Timed {
        uint64_t &total;
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        ~Timed() { total += uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()); }
    } timed{counts.busy_us};
    size_t dim = 0;
    auto vector = m.encoder.embed({question}, dim);
    if (!vector) return vector.error();
    // With `relate` the relation head scores the stored embeddings: the cached questions are not embedded again.
    std::vector<Neighbour> near = m.index->search(scope, *vector, m.neighbours, m.has_relate);
    std::vector<std::span<const float>> stored;
    std::vector<SemanticCandidate> candidates;
    std::vector<ScoredNeighbour> scored;
    for (const Neighbour &n : near) {
        auto entry = m.index->entry(n.key);
        if (!entry) continue;
        SemanticCandidate c;
        c.scope = scope;
        c.key_hash = entry->alias_of != 0 ? entry->alias_of : n.key;
        c.canonical_key = entry->canonical_key;
        c.cached_question = entry->question;
        c.question = question;
        c.similarity = n.similarity;
        c.score = n.similarity;
        candidates.push_back(std::move(c));
        stored.emplace_back(n.vector);
    }
    if (candidates.empty()) return std::optional<SemanticCandidate>{};
    if (m.has_relate) {
        auto scores = m.encoder.relate(*vector, stored);
        if (!scores) return scores.error();
        for (size_t i = 0; i < candidates.size(); ++i) candidates[i].score = (*scores)[i];
    } else if (m.has_match) {
        std::vector<std::pair<std::string, std::string>> pairs;
        for (const auto &c : candidates) pairs.emplace_back(c.cached_question, question);
        auto scores = m.encoder.match(pairs);
        if (!scores) return scores.error();
        for (size_t i = 0; i < candidates.size(); ++i) candidates[i].score = (*scores)[i];
    }
    for (const auto &c : candidates) scored.push_back({c.key_hash, c.score});
    // Cosines are not probabilities: without a relation head the best neighbour decides.
    const Pooling pooling = m.has_match ? options_.pooling : Pooling::nearest;
    const ClusterVote vote = vote_by_cluster(scored, pooling, options_.temperature).front();
    SemanticCandidate best = std::move(candidates[vote.best_member]);
    best.score = vote.score;
    best.members = vote.members;
    auto decided = m.threshold.infer(nlohmann::json{{"op", "decide"}, {"key", best.key_hash}, {"similarity", best.score}}.dump());
    if (!decided) return decided.error();
    nlohmann::json decision = nlohmann::json::parse(*decided, nullptr, false);
    if (decision.is_discarded() || !decision.contains("exploit") || !decision["exploit"].is_boolean())
        return Status(Errc::plugin, m.threshold.library().facts().name + ": decide answered " + decided->substr(0, 200));
    best.serve = decision["exploit"].get<bool>();
    best.why = decision.value("why", std::string());
    best.canary = on_canary;
    if (best.serve) ++counts.served;
    return std::optional<SemanticCandidate>(std::move(best));
}

Status SemanticMatcher::outcome(const SemanticCandidate &candidate, bool right) {
    aicache_example example{};
    example.struct_size = sizeof example;
    example.type = AICACHE_EXAMPLE_MATCH_OUTCOME;
    example.key = candidate.key_hash;
    example.label = right ? 1 : 0;
    example.score = candidate.score;
    Status told = Status::ok();
    {
        std::lock_guard lock(learners_mutex_);
        // The side that found the candidate learns of it and counts it; a canary that has ended since counts nothing.
        const bool from_canary = candidate.canary && canary_;
        if (candidate.canary == from_canary) {
            MatchCounts &counts = from_canary ? canary_counts_ : serving_counts_;
            ++(right ? counts.right : counts.wrong);
        }
        told = (from_canary ? canary_ : model_)->threshold.observe(example);
    }
    if (!learned_pairs_.empty() && !candidate.question.empty()) {
        std::string line = nlohmann::json{{"a", candidate.cached_question}, {"b", candidate.question}, {"label", right ? 1 : 0}}.dump() + "\n";
        // A pair not kept costs a training example, not the answer: say so and go on.
        if (Status kept = append_file(learned_pairs_, line); !kept) spdlog::warn("learned pair not kept: {}", kept.message());
    }
    if (right && !candidate.question.empty() && candidate.question != candidate.cached_question)
        if (auto taught = teach(candidate.scope, candidate.key_hash, candidate.question); !taught)
            spdlog::warn("verified paraphrase not indexed: {}", taught.error().message());
    return told;
}

Expected<bool> SemanticMatcher::teach(uint64_t scope, uint64_t key_hash, const std::string &question) {
    std::vector<std::shared_ptr<Model>> models;
    std::vector<std::vector<float>> vectors;
    store::SemanticVectors::Entry alias;
    {
        std::lock_guard lock(learners_mutex_);
        models = models_locked();
        const Model &serving = *models.front(); // decides; a canary indexes what the serving model does
        auto entry = serving.index->entry(key_hash);
        if (!entry || entry->scope != scope || entry->alias_of != 0) return false;
        // An alias's key follows from its text and its entry: teaching it twice indexes it once.
        alias = {scope, hash64(question, key_hash), question, entry->canonical_key, key_hash};
        if (question == entry->question || serving.index->entry(alias.key) || serving.index->alias_count(key_hash) >= options_.max_aliases)
            return false;
        auto embedded = embed_with_each(models, question);
        if (!embedded) return embedded.error();
        vectors = std::move(*embedded);
    }
    for (size_t i = 0; i < models.size(); ++i)
        if (Status added = models[i]->index->add(alias.scope, alias.key, vectors[i], alias.question, alias.canonical_key, alias.alias_of); !added)
            return added;
    return true;
}

Status SemanticMatcher::forget(uint64_t scope, uint64_t key_hash) {
    std::vector<std::shared_ptr<Model>> models;
    {
        std::lock_guard lock(learners_mutex_);
        models = models_locked();
    }
    for (const auto &model : models)
        if (Status removed = model->index->remove(scope, key_hash); !removed) return removed;
    return Status::ok();
}

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
