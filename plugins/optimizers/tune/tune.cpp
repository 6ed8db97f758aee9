// tune: hyperparameter search over a policy's (or any component's) numeric parameters, ask/tell.
// Method "dlib" (the default) asks dlib's global_function_search (King 2017: MaxLIPO, a Lipschitz
// upper bound that picks where the largest improvement is still possible, alternated with a trust
// region around the best point); method "random" samples uniformly, the baseline it must beat.
// The host measures each candidate by replaying recorded traffic and tells the score back.
// Space: {"parameters": {NAME: {"min", "max", "integer"?, "log"?}}, "start"?: {NAME: value},
// "method"?, "seed"?, "fixed"?: {...} (passed through unchanged in every candidate)}. Without
// "parameters" it searches S3-FIFO's, from S3-FIFO's defaults.
//
// The search works in the unit box (space.hpp maps it to the parameters). Its state is the log of
// asks and tells: loading replays the log into a fresh dlib search with the same seed, which asks
// the same points again (checked), so a resumed search continues exactly where it stopped.
#include "space.hpp"

#include <aicache/sdk/optimizer.hpp>
#include <aicache_plugins/told_candidate.hpp>

#include <dlib/global_optimization.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <random>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::not_found;
using aicache::sdk::state_format_error;
using json = nlohmann::json;

struct Told {
    uint64_t id = 0;
    std::vector<double> unit;
    double score = 0;
};

class Tune {
public:
    static constexpr const char *state_format = "tune/1";

    explicit Tune(std::string_view space_text) : space_text_(space_text) {
        json space = json::parse(space_text, nullptr, false);
        if (space.is_discarded() || !space.is_object()) throw invalid_argument("tune: the search space is not a JSON object");
        parameters_ = tune::parse_parameters(space);
        method_ = space.value("method", std::string("dlib"));
        if (method_ != "dlib" && method_ != "random") throw invalid_argument("tune: \"method\" must be dlib or random, not " + method_);
        if (space.contains("seed") && !space["seed"].is_number_unsigned()) throw invalid_argument("tune: \"seed\" must be an unsigned integer");
        seed_ = space.value("seed", uint64_t(1));
        if (space.contains("fixed")) {
            if (!space["fixed"].is_object()) throw invalid_argument("tune: \"fixed\" must be an object of parameters passed through unchanged");
            fixed_ = space["fixed"];
        }
        starts_ = !parameters_.empty() && parameters_.front().has_start;
        clear();
    }

    std::string ask() {
        const uint64_t id = next_id_++;
        std::vector<double> u;
        if (method_ == "random") {
            u = id == 0 && starts_ ? start_point() : random_point(id);
        } else {
            dlib::function_evaluation_request request = search_->get_next_x();
            u.assign(request.x().begin(), request.x().end());
            for (size_t i = 0; i < u.size(); ++i) u[i] = std::fmin(parameters_[i].upper(), std::fmax(parameters_[i].lower(), u[i]));
            open_.emplace(id, std::move(request));
        }
        pending_[id] = u;
        log_.push_back({{"ask", id}, {"unit", u}});
        return candidate(id, u).dump();
    }

    void tell(std::string_view candidate_text, double score) {
        auto it = aicache_plugins::told_candidate(pending_, candidate_text, score, "tune");
        const uint64_t id = it->first;
        if (auto request = open_.find(id); request != open_.end()) {
            request->second.set(score);
            open_.erase(request);
        }
        told_.push_back({id, std::move(it->second), score});
        pending_.erase(it);
        log_.push_back({{"tell", id}, {"score", score}});
    }

    std::string best() const {
        const Told *top = nullptr;
        for (const Told &t : told_)
            if (top == nullptr || t.score > top->score) top = &t;
        if (top == nullptr) throw not_found("tune: no candidate has been told yet");
        json out = candidate(top->id, top->unit);
        out["score"] = top->score;
        return out.dump();
    }

    void save_state(aicache::sdk::StateWriter &out) const { out.text(json{{"space", space_text_}, {"log", log_}}.dump()); }

    void load_state(aicache::sdk::StateReader &in) {
        json state = json::parse(in.text(), nullptr, false);
        if (state.is_discarded() || !state.is_object()) throw state_format_error("tune: saved state is not tune/1 JSON");
        try {
            if (state.at("space").get<std::string>() != space_text_)
                throw state_format_error("tune: the saved state belongs to a search with another search space");
            clear();
            for (const json &event : state.at("log")) {
                if (event.contains("ask")) {
                    json asked = json::parse(ask());
                    const auto saved = event.at("unit").get<std::vector<double>>();
                    const auto &again = pending_.at(asked["id"].get<uint64_t>());
                    for (size_t i = 0; i < saved.size() && i < again.size(); ++i)
                        if (saved.size() != again.size() || std::fabs(saved[i] - again[i]) > 1e-9)
                            throw state_format_error("tune: replaying the saved search asked another point (a different dlib build?)");
                } else {
                    tell(json{{"id", event.at("tell").get<uint64_t>()}}.dump(), event.at("score").get<double>());
                }
            }
        } catch (const json::exception &e) {
            throw state_format_error(std::string("tune: saved state is damaged: ") + e.what());
        }
    }

    void clear() {
        open_.clear(); // before the search they belong to
        search_.reset();
        if (method_ == "dlib") {
            const size_t n = parameters_.size();
            dlib::matrix<double, 0, 1> lower(n), upper(n);
            std::vector<bool> integer(n);
            for (size_t i = 0; i < n; ++i) lower(i) = parameters_[i].lower(), upper(i) = parameters_[i].upper(), integer[i] = parameters_[i].integer;
            search_ = std::make_unique<dlib::global_function_search>(dlib::function_spec(lower, upper, integer));
            search_->set_seed(static_cast<time_t>(seed_));
        }
        next_id_ = 0;
        told_.clear();
        pending_.clear();
        log_ = json::array();
    }

private:
    json candidate(uint64_t id, const std::vector<double> &u) const {
        json params = fixed_;
        for (size_t i = 0; i < parameters_.size(); ++i) {
            double v = parameters_[i].value(u[i]);
            if (parameters_[i].integer) params[parameters_[i].name] = static_cast<int64_t>(v);
            else params[parameters_[i].name] = v;
        }
        return json{{"id", id}, {"params", params}};
    }

    // The i-th random point depends only on the seed and i.
    std::vector<double> random_point(uint64_t id) const {
        std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + id);
        std::vector<double> u;
        for (const auto &p : parameters_) {
            if (p.integer) u.push_back(double(std::uniform_int_distribution<int64_t>(int64_t(p.min), int64_t(p.max))(rng)));
            else u.push_back(std::uniform_real_distribution<double>(0, 1)(rng));
        }
        return u;
    }

    std::vector<double> start_point() const {
        std::vector<double> u;
        for (const auto &p : parameters_) u.push_back(p.start_coordinate());
        return u;
    }

    std::string space_text_;
    std::vector<tune::Parameter> parameters_;
    std::string method_;
    uint64_t seed_ = 1;
    json fixed_ = json::object();
    bool starts_ = false;
    std::unique_ptr<dlib::global_function_search> search_;
    std::map<uint64_t, dlib::function_evaluation_request> open_; // dlib's requests not yet told
    uint64_t next_id_ = 0;
    std::vector<Told> told_;
    std::map<uint64_t, std::vector<double>> pending_;
    json log_ = json::array();
};

} // namespace

AICACHE_OPTIMIZER_PLUGIN(Tune, "tune", "1.0.0")
