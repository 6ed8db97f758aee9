// encoder: a learned query encoder and relation head for semantic matching (see README.md).
// Observed pairs are kept as hashed features; positives are joined into clusters (union-find),
// one pair in ten is held out to report how the relation head does on pairs it never trained on.
#include "features.hpp"
#include "network.hpp"

#include <aicache/sdk/learner.hpp>
#include <aicache/sdk/vectors.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <numeric>
#include <unordered_map>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::state_format_error;
using encoder::Features;
using json = nlohmann::json;

encoder::NetworkConfig network_config(const aicache::sdk::Config &c) {
    encoder::NetworkConfig n;
    n.buckets = c.unsigned_integer("buckets", n.buckets);
    n.bag_dim = static_cast<int64_t>(c.unsigned_integer("bag_dim", uint64_t(n.bag_dim)));
    n.hidden = static_cast<int64_t>(c.unsigned_integer("hidden", uint64_t(n.hidden)));
    n.dim = static_cast<int64_t>(c.unsigned_integer("dim", uint64_t(n.dim)));
    n.relation_hidden = static_cast<int64_t>(c.unsigned_integer("relation_hidden", uint64_t(n.relation_hidden)));
    n.seed = c.unsigned_integer("seed", n.seed);
    n.learning_rate = c.number("learning_rate", n.learning_rate);
    n.batch = static_cast<int64_t>(c.unsigned_integer("batch", uint64_t(n.batch)));
    n.temperature = c.number("temperature", n.temperature);
    if (n.buckets < 2 || n.buckets > (1ull << 24)) throw invalid_argument("encoder: buckets must lie in [2, 2^24]");
    if (n.bag_dim < 1 || n.hidden < 1 || n.dim < 1 || n.relation_hidden < 1 || n.batch < 2)
        throw invalid_argument("encoder: bag_dim, hidden, dim, relation_hidden must be positive and batch at least 2");
    if (!(n.learning_rate > 0) || !(n.temperature > 0)) throw invalid_argument("encoder: learning_rate and temperature must be positive");
    return n;
}

class Encoder {
public:
    static constexpr const char *state_format = "encoder/1";

    explicit Encoder(const aicache::sdk::Config &config) : config_(network_config(config)) { clear(); }

    void observe(const aicache_example &example) {
        if (example.struct_size < offsetof(aicache_example, label) + sizeof(int32_t))
            throw invalid_argument("encoder: example struct too small");
        // Access records and match outcomes are for other learners (policies, thresholds).
        if (example.type == AICACHE_EXAMPLE_ACCESS || example.type == AICACHE_EXAMPLE_MATCH_OUTCOME) return;
        if (example.type != AICACHE_EXAMPLE_QUERY_PAIR) throw invalid_argument("encoder: unknown example type " + std::to_string(example.type));
        if (example.label != 0 && example.label != 1) return; // unlabelled pairs: nothing to learn from yet
        uint32_t a = intern(std::string_view(example.text_a, example.text_a_len));
        uint32_t b = intern(std::string_view(example.text_b, example.text_b_len));
        StoredPair pair{a, b, static_cast<float>(example.label)};
        if (++observed_ % 10 == 0) {
            held_out_.push_back(pair); // never trained on: the metrics below are measured on these
            return;
        }
        pairs_.push_back(pair);
        if (example.label == 1) join(a, b);
    }

    std::string train(uint64_t budget_ms) {
        auto started = std::chrono::steady_clock::now();
        std::map<uint32_t, std::vector<const Features *>> by_root;
        for (uint32_t t = 0; t < texts_.size(); ++t) by_root[find(t)].push_back(&texts_[t]);
        std::vector<std::vector<const Features *>> clusters;
        for (auto &[root, members] : by_root)
            if (members.size() >= 2) clusters.push_back(std::move(members));
        std::vector<encoder::Pair> pairs;
        for (const StoredPair &p : pairs_) pairs.push_back({&texts_[p.a], &texts_[p.b], p.label});
        encoder::TrainReport report = network_->train(clusters, pairs, budget_ms, rng_);
        steps_ += report.steps;

        json metrics = {{"steps", report.steps},          {"total_steps", steps_},
                        {"clusters", clusters.size()},     {"pairs", pairs.size()},
                        {"prototype_loss", report.prototype_loss}, {"relation_loss", report.relation_loss}};
        if (!held_out_.empty()) {
            std::vector<encoder::Pair> held;
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

    void infer(std::string_view request_text, aicache::sdk::Output &out) {
        // relate is on the host's lookup path: its fixed spelling is read without a JSON parser.
        std::vector<float> query;
        std::vector<std::vector<float>> candidates;
        if (aicache::sdk::read_relate_request(request_text, query, candidates)) return relate(query, candidates, out);

        json request = json::parse(request_text, nullptr, false);
        if (request.is_discarded() || !request.is_object() || !request.contains("op") || !request["op"].is_string())
            throw invalid_argument("encoder: a request is a JSON object with an \"op\"");
        const std::string op = request["op"].get<std::string>();
        if (op == "info") {
            out.text(json{{"kind", "encoder"}, {"ops", {"embed", "match", "relate"}}, {"dim", network_->dim()}, {"buckets", config_.buckets},
                          {"steps", steps_}}
                         .dump());
        } else if (op == "embed") {
            std::vector<Features> features;
            for (const auto &t : texts_of(request, "texts")) features.push_back(encoder::features(t, config_.buckets));
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
                features.push_back(encoder::features(p[0].get<std::string>(), config_.buckets));
                features.push_back(encoder::features(p[1].get<std::string>(), config_.buckets));
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

    void save_state(aicache::sdk::StateWriter &out) const {
        out.u64(config_.buckets);
        out.u64(uint64_t(config_.dim));
        out.u64(steps_);
        out.text(network_->save());
    }
    void load_state(aicache::sdk::StateReader &in) {
        uint64_t buckets = in.u64(), dim = in.u64();
        if (buckets != config_.buckets || dim != uint64_t(config_.dim))
            throw state_format_error("encoder: checkpoint has " + std::to_string(buckets) + " buckets and dim " + std::to_string(dim) +
                                     ", this instance " + std::to_string(config_.buckets) + " and " + std::to_string(config_.dim));
        uint64_t steps = in.u64();
        std::string bytes = in.text();
        try {
            network_->load(bytes);
        } catch (const std::exception &e) {
            throw state_format_error(std::string("encoder: ") + e.what());
        }
        steps_ = steps;
    }
    void clear() {
        network_ = std::make_unique<encoder::Network>(config_);
        rng_.seed(config_.seed);
        steps_ = 0;
    }

private:
    struct StoredPair {
        uint32_t a, b;
        float label;
    };

    void relate(const std::vector<float> &query, const std::vector<std::vector<float>> &candidates, aicache::sdk::Output &out) const {
        const size_t dim = size_t(config_.dim);
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

    static std::vector<std::string> texts_of(const json &request, const char *key) {
        if (!request.contains(key) || !request[key].is_array()) throw invalid_argument(std::string("encoder: needs \"") + key + "\": [...]");
        std::vector<std::string> out;
        for (const auto &t : request[key]) {
            if (!t.is_string()) throw invalid_argument(std::string("encoder: \"") + key + "\" holds a non-string");
            out.push_back(t.get<std::string>());
        }
        return out;
    }

    uint32_t intern(std::string_view text) {
        auto [it, fresh] = ids_.emplace(std::string(text), static_cast<uint32_t>(texts_.size()));
        if (fresh) {
            texts_.push_back(encoder::features(text, config_.buckets));
            parent_.push_back(it->second);
        }
        return it->second;
    }
    uint32_t find(uint32_t x) {
        while (parent_[x] != x) x = parent_[x] = parent_[parent_[x]];
        return x;
    }
    void join(uint32_t a, uint32_t b) { parent_[find(a)] = find(b); }

    encoder::NetworkConfig config_;
    std::unique_ptr<encoder::Network> network_;
    std::mt19937_64 rng_;
    uint64_t steps_ = 0, observed_ = 0;
    std::unordered_map<std::string, uint32_t> ids_;
    std::vector<Features> texts_; // features of each distinct text seen
    std::vector<uint32_t> parent_; // union-find over texts joined by positive pairs
    std::vector<StoredPair> pairs_, held_out_;
};

} // namespace

AICACHE_LEARNER_PLUGIN(Encoder, "encoder", "1.0.0")
