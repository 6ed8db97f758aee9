// threshold: decides, per cached entry, whether a query at a given similarity may be answered from
// that entry, so that the false-hit rate (the share of queries that should not be answered from
// the entry but are) stays under a target δ (see README.md).
// The bound: a split-conformal quantile. Among outcomes observed without selection (explorations
// of cold entries and a random share ε of all queries), the wrong ones' similarities are a sample
// of what a wrong match looks like; serving only above their ⌈(1−δ)(n+1)⌉-th smallest value
// answers a new wrong match with probability at most δ. Per entry: never serve at or below a
// similarity at which this entry was once wrong, and P(right | s) = σ(γ (s − t_e)) is fitted per
// entry (one slope γ for all, t_e pulled to the pooled fit by a Gaussian prior) and reported.
// An entry with no outcome of its own is cold and explores (unless configured otherwise).
#include <aicache/sdk/learner.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::state_format_error;
using json = nlohmann::json;

double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }

struct Outcome {
    float similarity;
    uint8_t right;
};

class Threshold {
public:
    static constexpr const char *state_format = "threshold/1";

    explicit Threshold(const aicache::sdk::Config &c)
        : delta_(c.number("delta", 0.02)), prior_sd_(c.number("prior_sd", 0.05)), explore_rate_(c.number("explore_rate", 0.05)),
          cold_explores_(c.text("cold_explores", "true") != "false"), per_entry_(static_cast<size_t>(c.unsigned_integer("per_entry", 64))),
          pooled_cap_(static_cast<size_t>(c.unsigned_integer("pooled", 100000))), seed_(c.unsigned_integer("seed", 1)) {
        if (!(delta_ > 0 && delta_ < 1)) throw invalid_argument("threshold: delta must lie in (0, 1)");
        if (!(prior_sd_ > 0) || !(explore_rate_ >= 0 && explore_rate_ <= 1) || per_entry_ == 0 || pooled_cap_ < 16)
            throw invalid_argument("threshold: prior_sd > 0, explore_rate in [0, 1], per_entry >= 1 and pooled >= 16");
        clear();
    }

    void observe(const aicache_example &e) {
        if (e.struct_size < offsetof(aicache_example, type) + sizeof(e.type)) throw invalid_argument("threshold: example struct too small");
        if (e.type == AICACHE_EXAMPLE_QUERY_PAIR || e.type == AICACHE_EXAMPLE_ACCESS) return; // not outcomes of serving
        if (e.type != AICACHE_EXAMPLE_MATCH_OUTCOME) throw invalid_argument("threshold: unknown example type " + std::to_string(e.type));
        if (e.struct_size < offsetof(aicache_example, score) + sizeof(double))
            throw invalid_argument("threshold: a match outcome needs the ABI 1.1 example (with score)");
        if (e.label != 0 && e.label != 1) throw invalid_argument("threshold: a match outcome's label is 0 or 1");
        if (!std::isfinite(e.score)) throw invalid_argument("threshold: similarity must be finite");
        Outcome o{static_cast<float>(e.score), static_cast<uint8_t>(e.label)};
        auto &mine = entries_[e.key];
        mine.push_back(o);
        if (mine.size() > per_entry_) mine.pop_front();
        pooled_.push_back(o);
        if (pooled_.size() > pooled_cap_) pooled_.pop_front();
        // Only outcomes this learner asked for without looking at the similarity calibrate the bound.
        if (auto it = unselected_.find({e.key, o.similarity}); it != unselected_.end()) {
            unselected_.erase(it);
            if (o.right == 0) {
                wrong_similarities_.insert(std::upper_bound(wrong_similarities_.begin(), wrong_similarities_.end(), o.similarity), o.similarity);
                if (wrong_similarities_.size() > pooled_cap_) wrong_similarities_.erase(wrong_similarities_.begin());
            }
            ++calibration_outcomes_;
        }
        if (++since_fit_ >= 256) fit_pooled();
    }

    std::string train(uint64_t /*budget_ms: a fit over the pooled outcomes takes milliseconds*/) {
        fit_pooled();
        return json{{"outcomes", pooled_.size()},        {"entries", entries_.size()},     {"slope", slope_},
                    {"pooled_threshold", pooled_threshold_}, {"calibration_outcomes", calibration_outcomes_},
                    {"calibration_wrong", wrong_similarities_.size()}, {"bound_threshold", bound_threshold(delta_)}}
            .dump();
    }

    void infer(std::string_view text, aicache::sdk::Output &out) {
        json request = json::parse(text, nullptr, false);
        if (request.is_discarded() || !request.is_object() || !request.contains("op") || !request["op"].is_string())
            throw invalid_argument("threshold: a request is a JSON object with an \"op\"");
        const std::string op = request["op"].get<std::string>();
        if (op == "info") {
            out.text(json{{"kind", "threshold"}, {"ops", {"decide"}}, {"delta", delta_}, {"slope", slope_},
                          {"pooled_threshold", pooled_threshold_}, {"outcomes", pooled_.size()}}
                         .dump());
            return;
        }
        if (op != "decide") throw aicache::sdk::unsupported("threshold: no op \"" + op + "\" (info, decide)");
        if (!request.contains("key") || !request["key"].is_number_unsigned() || !request.contains("similarity") || !request["similarity"].is_number())
            throw invalid_argument("threshold: decide needs \"key\" (unsigned) and \"similarity\"");
        double delta = request.value("delta", delta_);
        if (!(delta > 0 && delta < 1)) throw invalid_argument("threshold: delta must lie in (0, 1)");
        out.text(decide(request["key"].get<uint64_t>(), request["similarity"].get<double>(), delta).dump());
    }

    // The split-conformal threshold: above it a new wrong match falls with probability <= delta.
    [[nodiscard]] double bound_threshold(double delta) const {
        const size_t n = wrong_similarities_.size();
        const size_t k = static_cast<size_t>(std::ceil((1 - delta) * double(n + 1)));
        return k > n ? std::numeric_limits<double>::infinity() : double(wrong_similarities_[k - 1]);
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        json state = {{"slope", slope_}, {"pooled_threshold", pooled_threshold_}, {"since_fit", since_fit_},
                      {"wrong_similarities", wrong_similarities_}, {"calibration_outcomes", calibration_outcomes_}};
        std::ostringstream rng;
        rng << rng_;
        state["rng"] = rng.str();
        state["unselected"] = json::array();
        for (const auto &[k, sim] : unselected_) state["unselected"].push_back({k, sim});
        auto pack = [](const std::deque<Outcome> &d) {
            json a = json::array();
            for (const auto &o : d) a.push_back({o.similarity, o.right});
            return a;
        };
        state["pooled"] = pack(pooled_);
        state["entries"] = json::object();
        for (const auto &[key, d] : entries_) state["entries"][std::to_string(key)] = pack(d);
        out.text(state.dump());
    }
    void load_state(aicache::sdk::StateReader &in) {
        json state = json::parse(in.text(), nullptr, false);
        if (state.is_discarded() || !state.is_object()) throw state_format_error("threshold: not a threshold/1 state");
        try {
            auto unpack = [](const json &a) {
                std::deque<Outcome> d;
                for (const auto &o : a) d.push_back({o.at(0).get<float>(), static_cast<uint8_t>(o.at(1).get<int>() != 0)});
                return d;
            };
            slope_ = state.at("slope").get<double>();
            pooled_threshold_ = state.at("pooled_threshold").get<double>();
            since_fit_ = state.at("since_fit").get<uint64_t>();
            pooled_ = unpack(state.at("pooled"));
            wrong_similarities_ = state.at("wrong_similarities").get<std::vector<float>>();
            if (!std::is_sorted(wrong_similarities_.begin(), wrong_similarities_.end())) throw std::invalid_argument("calibration not sorted");
            calibration_outcomes_ = state.at("calibration_outcomes").get<uint64_t>();
            std::istringstream rng(state.at("rng").get<std::string>());
            rng >> rng_;
            if (!rng) throw std::invalid_argument("random state");
            unselected_.clear();
            for (const auto &u : state.at("unselected")) unselected_.insert({u.at(0).get<uint64_t>(), u.at(1).get<float>()});
            entries_.clear();
            for (const auto &[key, a] : state.at("entries").items()) entries_[std::stoull(key)] = unpack(a);
        } catch (const std::exception &e) {
            throw state_format_error(std::string("threshold: damaged state: ") + e.what());
        }
    }
    void clear() {
        entries_.clear();
        pooled_.clear();
        slope_ = 40;            // until outcomes say otherwise: a steep step...
        pooled_threshold_ = 1;  // ...at similarity 1
        since_fit_ = 0;
        rng_.seed(seed_);
        unselected_.clear();
        wrong_similarities_.clear();
        calibration_outcomes_ = 0;
    }

private:
    // Logistic regression of right on similarity over the pooled outcomes (Newton's method with a
    // small ridge), reparametrised as slope and threshold.
    void fit_pooled() {
        since_fit_ = 0;
        size_t right = 0;
        for (const auto &o : pooled_) right += o.right;
        if (pooled_.size() < 16 || right == 0 || right == pooled_.size()) return; // not identifiable yet
        double a = 0, b = 0;
        for (int iter = 0; iter < 50; ++iter) {
            double ga = 0, gb = 0, haa = 1e-3, hab = 0, hbb = 1e-3;
            for (const auto &o : pooled_) {
                double p = sigmoid(a + b * o.similarity), w = p * (1 - p), r = o.right - p;
                ga += r, gb += r * o.similarity;
                haa += w, hab += w * o.similarity, hbb += w * o.similarity * o.similarity;
            }
            ga -= 1e-3 * a, gb -= 1e-3 * b;
            double det = haa * hbb - hab * hab;
            if (det <= 0) break;
            double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
            a += da, b += db;
            if (std::fabs(da) + std::fabs(db) < 1e-9) break;
        }
        if (b > 1e-6) { // a model in which higher similarity means more often right
            slope_ = b;
            pooled_threshold_ = -a / b;
        }
    }

    json decide(uint64_t key, double s, double delta) {
        auto it = entries_.find(key);
        const bool cold = it == entries_.end() || it->second.empty();
        auto explore = [&](const char *why) {
            // An outcome asked for regardless of the similarity is an unbiased sample for the bound.
            if (std::string_view(why) != "below the bound") unselected_.insert({key, static_cast<float>(s)});
            return json{{"exploit", false}, {"why", why}, {"observations", cold ? 0 : it->second.size()}};
        };
        if (cold && cold_explores_) return explore("cold");
        if (std::uniform_real_distribution<double>(0, 1)(rng_) < explore_rate_) return explore("random");
        double threshold = bound_threshold(delta);
        double own_wrong = -std::numeric_limits<double>::infinity();
        if (!cold)
            for (const auto &o : it->second)
                if (!o.right) own_wrong = std::max(own_wrong, double(o.similarity));
        if (!(s > threshold) || !(s > own_wrong)) return explore("below the bound");
        json out = {{"exploit", true}, {"why", "above the bound"}, {"bound_threshold", threshold}, {"observations", cold ? 0 : it->second.size()}};
        if (!cold) out["p_right"] = entry_p_right(it->second, s);
        return out;
    }

    // P(right | s) for one entry: the pooled slope, the entry's own threshold (MAP, Gaussian prior
    // around the pooled threshold).
    [[nodiscard]] double entry_p_right(const std::deque<Outcome> &mine, double s) const {
        const double g = slope_, prior_var = prior_sd_ * prior_sd_;
        double t = pooled_threshold_;
        for (int iter = 0; iter < 25; ++iter) {
            double grad = -(t - pooled_threshold_) / prior_var, curvature = 1 / prior_var;
            for (const auto &o : mine) {
                double p = sigmoid(g * (o.similarity - t));
                grad += -g * (o.right - p);
                curvature += g * g * p * (1 - p);
            }
            double step = grad / curvature;
            t += step;
            if (std::fabs(step) < 1e-9) break;
        }
        return sigmoid(g * (s - t));
    }

    double delta_, prior_sd_, explore_rate_;
    bool cold_explores_;
    size_t per_entry_, pooled_cap_;
    uint64_t seed_;
    std::mt19937_64 rng_;
    std::set<std::pair<uint64_t, float>> unselected_; // explorations whose outcome calibrates the bound
    std::vector<float> wrong_similarities_;          // sorted: wrong outcomes among those
    uint64_t calibration_outcomes_ = 0;
    std::unordered_map<uint64_t, std::deque<Outcome>> entries_;
    std::deque<Outcome> pooled_;
    double slope_ = 40, pooled_threshold_ = 1;
    uint64_t since_fit_ = 0;
};

} // namespace

AICACHE_LEARNER_PLUGIN(Threshold, "threshold", "1.0.0")
