#include "learner.hpp"

#include <aicache/sdk/vectors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace encoder {
namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::state_format_error;
using json = nlohmann::json;

// EWC's Fisher is measured at the first train() after a load, on at most this many batches of the
// memory and for at most this long (and never more than half that call's budget).
constexpr uint64_t kFisherBatches = 50, kFisherMs = 1000;
// The budget a train() call under train_steps passes down: a day, a bound no step count reaches.
constexpr uint64_t kUnboundedMs = 86'400'000;

uint64_t pair_key(uint32_t a, uint32_t b) { return uint64_t(a) << 32 | b; }

uint32_t root(std::vector<uint32_t> &parent, uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

std::vector<std::string> texts_of(const json &request, const char *key) {
    if (!request.contains(key) || !request[key].is_array()) throw invalid_argument(std::string("encoder: needs \"") + key + "\": [...]");
    std::vector<std::string> out;
    for (const auto &t : request[key]) {
        if (!t.is_string()) throw invalid_argument(std::string("encoder: \"") + key + "\" holds a non-string");
        out.push_back(t.get<std::string>());
    }
    return out;
}

} // namespace

LearnerConfig learner_config(const aicache::sdk::Config &c) {
    LearnerConfig l;
    NetworkConfig &n = l.network;
    n.buckets = c.unsigned_integer("buckets", n.buckets);
    n.bag_dim = static_cast<int64_t>(c.unsigned_integer("bag_dim", uint64_t(n.bag_dim)));
    n.hidden = static_cast<int64_t>(c.unsigned_integer("hidden", uint64_t(n.hidden)));
    n.dim = static_cast<int64_t>(c.unsigned_integer("dim", uint64_t(n.dim)));
    n.relation_hidden = static_cast<int64_t>(c.unsigned_integer("relation_hidden", uint64_t(n.relation_hidden)));
    n.seed = c.unsigned_integer("seed", n.seed);
    n.learning_rate = c.number("learning_rate", n.learning_rate);
    n.batch = static_cast<int64_t>(c.unsigned_integer("batch", uint64_t(n.batch)));
    n.temperature = c.number("temperature", n.temperature);
    n.layers = static_cast<int64_t>(c.unsigned_integer("layers", uint64_t(n.layers)));
    if (n.layers < 1 || n.layers > 4) throw invalid_argument("encoder: layers must lie in [1, 4]");
    const std::string activation = c.text("activation", "relu");
    if (activation == "relu") n.activation = Activation::relu;
    else if (activation == "gelu") n.activation = Activation::gelu;
    else if (activation == "tanh") n.activation = Activation::tanh;
    else throw invalid_argument("encoder: activation is " + activation + ": use relu, gelu or tanh");
    n.dropout = c.number("dropout", n.dropout);
    if (!(n.dropout >= 0 && n.dropout < 0.9)) throw invalid_argument("encoder: dropout must lie in [0, 0.9)");
    if (n.buckets < 2 || n.buckets > (1ull << 24)) throw invalid_argument("encoder: buckets must lie in [2, 2^24]");
    if (n.bag_dim < 1 || n.hidden < 1 || n.dim < 1 || n.relation_hidden < 1 || n.batch < 2)
        throw invalid_argument("encoder: bag_dim, hidden, dim, relation_hidden must be positive and batch at least 2");
    if (!(n.learning_rate > 0) || !(n.temperature > 0)) throw invalid_argument("encoder: learning_rate and temperature must be positive");

    l.memory = c.unsigned_integer("memory", l.memory);
    if (l.memory > (1ull << 24))
        throw invalid_argument("encoder: memory is " + std::to_string(l.memory) + " pairs, at most 2^24 fit a checkpoint: use fewer (0 keeps none)");
    const std::string replay = c.text("replay", "1");
    if (replay != "0" && replay != "1" && replay != "true" && replay != "false")
        throw invalid_argument("encoder: replay is " + replay + ": use 1 to mix the remembered pairs into training, 0 not to");
    l.replay = replay == "1" || replay == "true";
    l.ewc_lambda = c.number("ewc_lambda", l.ewc_lambda);
    if (!std::isfinite(l.ewc_lambda) || l.ewc_lambda < 0)
        throw invalid_argument("encoder: ewc_lambda is " + c.text("ewc_lambda", "") + ": use a finite number >= 0 (0: no consolidation)");
    l.train_steps = c.unsigned_integer("train_steps", l.train_steps);
    const std::string restore = c.text("restore_optimizer", "1");
    if (restore != "0" && restore != "1" && restore != "true" && restore != "false")
        throw invalid_argument("encoder: restore_optimizer is " + restore +
                               ": use 1 to continue the optimizers from a checkpoint's state, 0 to restart them");
    l.restore_optimizer = restore == "1" || restore == "true";
    return l;
}

Learner::Learner(const aicache::sdk::Config &config) : config_(learner_config(config)), memory_(config_.memory, config_.network.seed) { clear(); }

Learner::~Learner() = default;

void Learner::observe(const aicache_example &example) {
    if (example.struct_size < offsetof(aicache_example, label) + sizeof(int32_t)) throw invalid_argument("encoder: example struct too small");
    // Access records and match outcomes are for other learners (policies, thresholds).
    if (example.type == AICACHE_EXAMPLE_ACCESS || example.type == AICACHE_EXAMPLE_MATCH_OUTCOME) return;
    if (example.type != AICACHE_EXAMPLE_QUERY_PAIR) throw invalid_argument("encoder: unknown example type " + std::to_string(example.type));
    if (example.label != 0 && example.label != 1) return; // unlabelled pairs: nothing to learn from yet
    std::string_view text_a(example.text_a, example.text_a_len), text_b(example.text_b, example.text_b_len);
    uint32_t a = intern(text_a), b = intern(text_b);
    StoredPair pair{a, b, static_cast<float>(example.label)};
    if (++observed_ % 10 == 0) {
        held_out_.push_back(pair); // never trained on: the metrics below are measured on these
        return;
    }
    pairs_.push_back(pair);
    trained_.insert(pair_key(a, b));
    memory_.offer(text_a, text_b, pair.label);
    if (example.label == 1) parent_[root(parent_, a)] = root(parent_, b);
}

Clusters Learner::clusters_of(std::vector<uint32_t> parent, const std::vector<StoredPair> &joined) const {
    for (const StoredPair &p : joined)
        if (p.label == 1) parent[root(parent, p.a)] = root(parent, p.b);
    std::vector<std::vector<const Features *>> by_root(texts_.size());
    for (uint32_t t = 0; t < texts_.size(); ++t) by_root[root(parent, t)].push_back(&texts_[t]);
    Clusters clusters;
    for (auto &members : by_root)
        if (members.size() >= 2) clusters.push_back(std::move(members));
    return clusters;
}

std::vector<uint32_t> Learner::singletons() const {
    std::vector<uint32_t> parent(texts_.size());
    for (uint32_t t = 0; t < parent.size(); ++t) parent[t] = t;
    return parent;
}

std::vector<Learner::StoredPair> Learner::replay_set() const {
    std::vector<StoredPair> out;
    for (const StoredPair &p : remembered_)
        if (!trained_.count(pair_key(p.a, p.b))) out.push_back(p); // this instance trains on it anyway, maybe relabelled
    return out;
}

uint64_t Learner::consolidate(uint64_t budget_ms) {
    // The old task's loss alone: clusters joined by the remembered positives only.
    const Clusters clusters = clusters_of(singletons(), remembered_);
    std::vector<Pair> pairs;
    for (const StoredPair &p : remembered_) pairs.push_back({&texts_[p.a], &texts_[p.b], p.label});
    // Its own generator: with or without EWC, training then draws the same batches.
    std::mt19937_64 rng(config_.network.seed ^ 0x65776366u);
    return network_->consolidate(clusters, pairs, config_.ewc_lambda, kFisherBatches, budget_ms, rng);
}

std::string Learner::train(uint64_t budget_ms) {
    const auto started = std::chrono::steady_clock::now();
    // Under a step budget the clock bounds nothing: a fixed number of steps per call (and of Fisher
    // batches), so the same run takes the same steps on a busy machine.
    const bool by_steps = config_.train_steps > 0;
    const uint64_t max_steps = by_steps ? std::min(steps_per_call, config_.train_steps - std::min(session_steps_, config_.train_steps)) : UINT64_MAX;
    if (by_steps) budget_ms = kUnboundedMs;
    uint64_t fisher_batches = 0;
    if (consolidation_due_ && max_steps > 0) {
        consolidation_due_ = false;
        fisher_batches = consolidate(by_steps ? kUnboundedMs : std::min(budget_ms / 2, kFisherMs));
    }
    const std::vector<StoredPair> replayed = config_.replay ? replay_set() : std::vector<StoredPair>{};
    const Clusters clusters = clusters_of(parent_, {}), replayed_clusters = clusters_of(singletons(), replayed);
    std::vector<Pair> pairs, replayed_pairs;
    for (const StoredPair &p : pairs_) pairs.push_back({&texts_[p.a], &texts_[p.b], p.label});
    for (const StoredPair &p : replayed) replayed_pairs.push_back({&texts_[p.a], &texts_[p.b], p.label});
    const auto spent = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
    TrainReport report = max_steps == 0 ? TrainReport{}
                                        : network_->train({TrainingSet{&clusters, &pairs}, TrainingSet{&replayed_clusters, &replayed_pairs}},
                                                          budget_ms > spent ? budget_ms - spent : 0, rng_, max_steps);
    steps_ += report.steps;
    session_steps_ += report.steps;

    json metrics = {{"steps", report.steps},
                    {"total_steps", steps_},
                    {"clusters", clusters.size() + replayed_clusters.size()},
                    {"pairs", pairs.size() + replayed_pairs.size()},
                    {"prototype_loss", report.prototype_loss},
                    {"relation_loss", report.relation_loss},
                    {"memory_pairs", memory_.pairs().size()},
                    {"replayed_pairs", replayed.size()},
                    {"ewc_lambda", network_->consolidation_lambda()},
                    {"ewc_penalty", report.ewc_penalty}};
    if (fisher_batches > 0) metrics["ewc_fisher_batches"] = fisher_batches;
    if (by_steps) metrics["train_steps_left"] = config_.train_steps - std::min(session_steps_, config_.train_steps);
    if (!held_out_.empty()) {
        std::vector<Pair> held;
        for (const StoredPair &p : held_out_) held.push_back({&texts_[p.a], &texts_[p.b], p.label});
        std::vector<float> scores = network_->match(held);
        size_t right = 0;
        for (size_t i = 0; i < held.size(); ++i) right += (scores[i] >= 0.5f) == (held[i].label > 0.5f);
        metrics["held_out_pairs"] = held.size();
        metrics["held_out_accuracy"] = double(right) / double(held.size());
    }
    metrics["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return metrics.dump();
}

void Learner::infer(std::string_view request_text, aicache::sdk::Output &out) {
    // relate is on the host's lookup path: its fixed spelling is read without a JSON parser.
    std::vector<float> query;
    std::vector<std::vector<float>> candidates;
    if (aicache::sdk::read_relate_request(request_text, query, candidates)) return relate(query, candidates, out);

    json request = json::parse(request_text, nullptr, false);
    if (request.is_discarded() || !request.is_object() || !request.contains("op") || !request["op"].is_string())
        throw invalid_argument("encoder: a request is a JSON object with an \"op\"");
    const std::string op = request["op"].get<std::string>();
    if (op == "info") {
        out.text(json{{"kind", "encoder"}, {"ops", {"embed", "match", "relate"}}, {"dim", network_->dim()}, {"buckets", config_.network.buckets},
                      {"steps", steps_}, {"memory_pairs", memory_.pairs().size()}}
                     .dump());
    } else if (op == "embed") {
        std::vector<Features> features;
        for (const auto &t : texts_of(request, "texts")) features.push_back(encoder::features(t, config_.network.buckets));
        std::vector<const Features *> refs;
        for (const auto &f : features) refs.push_back(&f);
        std::vector<float> rows = network_->embed(refs);
        out.floats(rows.data(), rows.size());
    } else if (op == "match") {
        if (!request.contains("pairs") || !request["pairs"].is_array()) throw invalid_argument("encoder: match needs \"pairs\": [[a, b], ...]");
        std::vector<Features> features;
        features.reserve(2 * request["pairs"].size());
        for (const auto &p : request["pairs"]) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_string())
                throw invalid_argument("encoder: each pair is [\"a\", \"b\"]");
            features.push_back(encoder::features(p[0].get<std::string>(), config_.network.buckets));
            features.push_back(encoder::features(p[1].get<std::string>(), config_.network.buckets));
        }
        std::vector<encoder::Pair> pairs;
        for (size_t i = 0; i + 1 < features.size(); i += 2) pairs.push_back({&features[i], &features[i + 1], 0});
        std::vector<float> scores = network_->match(pairs);
        out.floats(scores.data(), scores.size());
    } else if (op == "relate") {
        if (!request.contains("query") || !request["query"].is_string() ||
            !aicache::sdk::decode_floats_base64(request["query"].get_ref<const std::string &>(), query))
            throw invalid_argument("encoder: relate needs \"query\": base64 of dim little-endian float32 values");
        if (!request.contains("candidates") || !request["candidates"].is_array())
            throw invalid_argument("encoder: relate needs \"candidates\": [base64 of dim little-endian float32 values, ...]");
        candidates.resize(request["candidates"].size());
        for (size_t i = 0; i < candidates.size(); ++i) {
            const json &c = request["candidates"][i];
            if (!c.is_string() || !aicache::sdk::decode_floats_base64(c.get_ref<const std::string &>(), candidates[i]))
                throw invalid_argument("encoder: relate: candidate " + std::to_string(i) +
                                       " is not base64 of little-endian float32 values");
        }
        relate(query, candidates, out);
    } else {
        throw aicache::sdk::unsupported("encoder: no op \"" + op + "\" (info, embed, match, relate)");
    }
}

void Learner::save_state(aicache::sdk::StateWriter &out) const {
    out.u64(config_.network.buckets);
    out.u64(uint64_t(config_.network.dim));
    out.u64(steps_);
    out.text(network_->save());
    memory_.save(out);                   // encoder/2: an encoder/1 state ends before this
    out.text(network_->save_optimizer()); // encoder/3: an encoder/2 state ends before this
}

void Learner::load_state(aicache::sdk::StateReader &in) {
    const NetworkConfig &n = config_.network;
    uint64_t buckets = in.u64(), dim = in.u64();
    if (buckets != n.buckets || dim != uint64_t(n.dim))
        throw state_format_error("encoder: checkpoint has " + std::to_string(buckets) + " buckets and dim " + std::to_string(dim) + ", this instance " +
                                 std::to_string(n.buckets) + " and " + std::to_string(n.dim));
    uint64_t steps = in.u64();
    std::string bytes = in.text();
    Memory memory = in.remaining() > 0 ? Memory::read(in, config_.memory, n.seed) : Memory(config_.memory, n.seed);
    std::string optimizer = in.remaining() > 0 ? in.text() : std::string();
    try {
        network_->load(bytes);
    } catch (const std::exception &e) {
        throw state_format_error(std::string("encoder: ") + e.what());
    }
    if (!optimizer.empty() && config_.restore_optimizer) {
        try {
            network_->load_optimizer(optimizer);
        } catch (const std::exception &e) {
            clear(); // the network was loaded: back to the seeded start, as for any refused load
            throw state_format_error(std::string("encoder: ") + e.what());
        }
    }
    steps_ = steps;
    session_steps_ = 0;
    memory_ = std::move(memory);
    remembered_.clear();
    for (const RememberedPair &p : memory_.pairs()) remembered_.push_back({intern(p.a), intern(p.b), p.label});
    consolidation_due_ = config_.ewc_lambda > 0 && !remembered_.empty();
}

void Learner::clear() {
    network_ = std::make_unique<Network>(config_.network);
    rng_.seed(config_.network.seed);
    steps_ = session_steps_ = 0;
    remembered_.clear();
    consolidation_due_ = false;
}

void Learner::relate(const std::vector<float> &query, const std::vector<std::vector<float>> &candidates, aicache::sdk::Output &out) const {
    const size_t dim = size_t(config_.network.dim);
    auto wrong_length = [&](const std::string &what, size_t floats) {
        return invalid_argument("encoder: relate: " + what + " holds " + std::to_string(floats) + " float32 values, this encoder's dim is " +
                                std::to_string(dim) + ": send embeddings from this encoder's embed");
    };
    if (query.size() != dim) throw wrong_length("the query", query.size());
    std::vector<const float *> rows;
    rows.reserve(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
        if (candidates[i].size() != dim) throw wrong_length("candidate " + std::to_string(i), candidates[i].size());
        rows.push_back(candidates[i].data());
    }
    std::vector<float> scores = network_->relate(query.data(), rows);
    out.floats(scores.data(), scores.size());
}

uint32_t Learner::intern(std::string_view text) {
    auto [it, fresh] = ids_.emplace(std::string(text), static_cast<uint32_t>(texts_.size()));
    if (fresh) {
        texts_.push_back(features(text, config_.network.buckets));
        parent_.push_back(it->second);
    }
    return it->second;
}

} // namespace encoder
