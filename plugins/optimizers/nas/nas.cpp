// nas: architecture search for the encoder learner, in two phases.
//
// 1. Aging evolution (Real, Aggarwal, Huang & Le, AAAI 2019) over architectures: the first
//    `population` candidates are drawn at random from the space's choices; after that each is a
//    child of the best of `sample` members drawn from the population, with one gene changed to
//    another of its choices; every told member joins the population and the oldest dies, however
//    good. The host trains each candidate for `steps` training steps and tells a score that weighs
//    accuracy against inference latency (see README.md).
// 2. Population-based training (Jaderberg et al., 2017) of the best architecture's training
//    hyperparameters: `members` members train in `generations` segments of `steps` steps each,
//    continuing from their own checkpoint; after each generation the worst `exploit` share copy
//    a checkpoint of the best share (exploit) and perturb its hyperparameters (explore).
//
// Candidates: {"id", "phase": "architecture"|"pbt", "params": {the encoder's configuration},
// "steps": N}; architectures also "seeds": K when the space asks to train each from K random
// starts (the host scores their mean AUC); and, in phase 2, "member", "generation", "continue"
// (the id whose checkpoint to start from, or null) and "keep" (the ids whose checkpoints the
// search still needs: the host may delete the others). While a generation waits for its scores,
// and once the search is over, asks repeat the best candidate (the host scores a repeat from its
// record).
// State (nas/1): the settings' text, the random state, and every told and pending candidate.
#include <aicache/sdk/optimizer.hpp>
#include <aicache_plugins/told_candidate.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::not_found;
using aicache::sdk::state_format_error;
using json = nlohmann::json;

// The architecture genes and their choices; the encoder's defaults are among them.
json default_choices() {
    return {{"layers", {1, 2, 3}},
            {"hidden", {64, 128, 256, 512}},
            {"bag_dim", {32, 64, 128}},
            {"dim", {64, 128, 256}},
            {"activation", {"relu", "gelu", "tanh"}},
            {"dropout", {0.0, 0.1, 0.2}}};
}

struct PbtSettings {
    size_t members = 4, generations = 4;
    uint64_t steps = 200;
    double exploit = 0.25;              // the worst share copies the best share
    double lr_min = 1e-4, lr_max = 1e-2; // learning_rate, drawn log-uniformly in generation 0
    double temperature_min = 0.02, temperature_max = 0.2;
    std::vector<int64_t> batches = {32, 64, 128};
};

struct Settings {
    uint64_t seed = 1;
    size_t population = 8, sample = 3, architectures = 24;
    uint64_t steps = 300;
    uint64_t seeds = 1; // random starts each architecture is trained from
    json choices = default_choices();
    json fixed = json::object(); // configuration passed through unchanged (buckets, seed, ...)
    PbtSettings pbt;

    static Settings parse(std::string_view text) {
        json space = json::parse(text, nullptr, false);
        if (space.is_discarded() || !space.is_object()) throw invalid_argument("nas: the search space is not a JSON object");
        Settings s;
        auto number = [](const json &from, const char *key, auto &out, double lo, double hi) {
            if (!from.contains(key)) return;
            if (!from[key].is_number() || from[key].get<double>() < lo || from[key].get<double>() > hi)
                throw invalid_argument(std::string("nas: \"") + key + "\" must be a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
            out = static_cast<std::remove_reference_t<decltype(out)>>(from[key].get<double>());
        };
        number(space, "seed", s.seed, 0, 9e15);
        number(space, "population", s.population, 2, 1000);
        number(space, "sample", s.sample, 1, 1000);
        number(space, "architectures", s.architectures, 1, 100000);
        number(space, "steps", s.steps, 1, 1e9);
        number(space, "seeds", s.seeds, 1, 32);
        if (s.sample > s.population) s.sample = s.population;
        if (space.contains("choices")) {
            const json &c = space["choices"];
            if (!c.is_object() || c.empty()) throw invalid_argument("nas: \"choices\" must be an object of gene -> [values]");
            for (const auto &[gene, values] : c.items())
                if (!values.is_array() || values.empty()) throw invalid_argument("nas: the choices of \"" + gene + "\" must be a non-empty array");
            s.choices = c;
        }
        if (space.contains("fixed")) {
            if (!space["fixed"].is_object()) throw invalid_argument("nas: \"fixed\" must be an object of configuration keys");
            s.fixed = space["fixed"];
        }
        if (space.contains("pbt")) {
            const json &p = space["pbt"];
            if (!p.is_object()) throw invalid_argument("nas: \"pbt\" must be an object");
            number(p, "members", s.pbt.members, 0, 1000);
            number(p, "generations", s.pbt.generations, 1, 1000);
            number(p, "steps", s.pbt.steps, 1, 1e9);
            number(p, "exploit", s.pbt.exploit, 0, 0.5);
            auto range = [&](const char *key, double &lo, double &hi) {
                if (!p.contains(key)) return;
                if (!p[key].is_array() || p[key].size() != 2 || !p[key][0].is_number() || !p[key][1].is_number() ||
                    !(p[key][0].get<double>() > 0) || p[key][1].get<double>() < p[key][0].get<double>())
                    throw invalid_argument(std::string("nas: pbt \"") + key + "\" must be [low, high] with 0 < low <= high");
                lo = p[key][0].get<double>(), hi = p[key][1].get<double>();
            };
            range("learning_rate", s.pbt.lr_min, s.pbt.lr_max);
            range("temperature", s.pbt.temperature_min, s.pbt.temperature_max);
            if (p.contains("batch")) {
                if (!p["batch"].is_array() || p["batch"].empty()) throw invalid_argument("nas: pbt \"batch\" must be a non-empty array");
                s.pbt.batches = p["batch"].get<std::vector<int64_t>>();
            }
        }
        return s;
    }
};

// A told or pending candidate.
struct Trial {
    uint64_t id = 0;
    json candidate;
    double score = 0;
};

class Nas {
public:
    static constexpr const char *state_format = "nas/1";

    explicit Nas(std::string_view search_space) : space_text_(search_space), settings_(Settings::parse(search_space)) { clear(); }

    std::string ask() {
        const uint64_t id = next_id_++;
        json c;
        if (architectures_asked_ < settings_.architectures) {
            c = architecture_candidate(id);
            ++architectures_asked_;
        } else if (auto member = next_member(id)) {
            c = *member;
        } else {
            return repeat_of_best(id);
        }
        pending_[id] = c;
        return c.dump();
    }

    void tell(std::string_view candidate_text, double score) {
        auto it = aicache_plugins::told_candidate(pending_, candidate_text, score, "nas");
        Trial trial{it->first, std::move(it->second), score};
        pending_.erase(it);
        record(std::move(trial));
    }

    std::string best() const {
        const Trial *top = best_of(told_);
        if (top == nullptr) throw not_found("nas: no candidate has been told yet");
        json out = top->candidate;
        out["score"] = top->score;
        return out.dump();
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        std::ostringstream rng;
        rng << rng_;
        json state = {{"space", space_text_}, {"rng", rng.str()}, {"next_id", next_id_}, {"architectures_asked", architectures_asked_}};
        state["told"] = json::array();
        for (const Trial &t : told_) state["told"].push_back({{"candidate", t.candidate}, {"score", t.score}});
        state["pending"] = json::array();
        for (const auto &[id, c] : pending_) state["pending"].push_back(c);
        out.text(state.dump());
    }

    void load_state(aicache::sdk::StateReader &in) {
        json state = json::parse(in.text(), nullptr, false);
        if (state.is_discarded() || !state.is_object()) throw state_format_error("nas: saved state is not nas/1 JSON");
        try {
            if (state.at("space").get<std::string>() != space_text_)
                throw state_format_error("nas: the saved state belongs to a search with another search space");
            clear();
            // Telling the trials again in order rebuilds the population and the generations.
            for (const json &t : state.at("told")) record({t.at("candidate").at("id").get<uint64_t>(), t.at("candidate"), t.at("score").get<double>()});
            for (const json &c : state.at("pending")) {
                pending_[c.at("id").get<uint64_t>()] = c;
                if (is_member_of_this_generation(c)) asked_in_generation_.insert(c.at("member").get<size_t>());
            }
            std::istringstream rng(state.at("rng").get<std::string>());
            rng >> rng_;
            if (!rng) throw state_format_error("nas: saved random state is damaged");
            next_id_ = state.at("next_id").get<uint64_t>();
            architectures_asked_ = state.at("architectures_asked").get<size_t>();
        } catch (const json::exception &e) {
            throw state_format_error(std::string("nas: saved state is damaged: ") + e.what());
        }
    }

    void clear() {
        // Through seed_seq: a small seed fed straight to the Mersenne twister gives correlated
        // early draws (seed 1 drew the same bag_dim for five architectures in a row).
        std::seed_seq seeds{settings_.seed};
        rng_.seed(seeds);
        next_id_ = 1;
        architectures_asked_ = 0;
        told_.clear();
        population_.clear();
        seen_genes_.clear();
        pending_.clear();
        generation_ = 0;
        current_.clear();
        parents_.clear();
        asked_in_generation_.clear();
        pbt_architecture_.reset();
    }

private:
    // --- phase 1: architectures -------------------------------------------------------------
    json architecture_candidate(uint64_t id) {
        json genes;
        for (int attempt = 0; attempt < 32; ++attempt) {
            genes = population_.size() < settings_.population ? random_genes() : child_genes();
            if (!seen_genes_.count(genes.dump())) break;
        }
        seen_genes_.insert(genes.dump());
        json params = settings_.fixed;
        params.update(genes);
        json candidate = {{"id", id}, {"phase", "architecture"}, {"params", params}, {"steps", settings_.steps}};
        if (settings_.seeds > 1) candidate["seeds"] = settings_.seeds;
        return candidate;
    }

    json random_genes() {
        json genes = json::object();
        for (const auto &[gene, values] : settings_.choices.items()) genes[gene] = values[pick(values.size())];
        return genes;
    }

    // The best of `sample` members drawn from the population, with one gene changed.
    json child_genes() {
        const Trial *parent = nullptr;
        for (size_t i = 0; i < settings_.sample; ++i) {
            const Trial &t = population_[pick(population_.size())];
            if (parent == nullptr || t.score > parent->score) parent = &t;
        }
        json genes = json::object();
        for (const auto &[gene, values] : settings_.choices.items()) genes[gene] = parent->candidate["params"].value(gene, values[0]);
        std::vector<std::string> mutable_genes;
        for (const auto &[gene, values] : settings_.choices.items())
            if (values.size() > 1) mutable_genes.push_back(gene);
        if (mutable_genes.empty()) return genes;
        const std::string &gene = mutable_genes[pick(mutable_genes.size())];
        const json &values = settings_.choices[gene];
        json value;
        do value = values[pick(values.size())];
        while (value == genes[gene]);
        genes[gene] = value;
        return genes;
    }

    // --- phase 2: population-based training ---------------------------------------------------
    std::optional<json> next_member(uint64_t id) {
        if (settings_.pbt.members == 0 || generation_ >= settings_.pbt.generations) return std::nullopt;
        if (!pbt_architecture_) {
            const Trial *top = best_architecture();
            if (top == nullptr) return std::nullopt; // no architecture scored yet: nothing to train
            pbt_architecture_ = top->candidate["params"];
        }
        size_t member = 0;
        while (member < settings_.pbt.members && asked_in_generation_.count(member)) ++member;
        if (member == settings_.pbt.members) return std::nullopt; // the generation waits for its scores
        asked_in_generation_.insert(member);

        json params = *pbt_architecture_;
        json from = nullptr;
        if (generation_ == 0) {
            if (member > 0) { // member 0 keeps the encoder's defaults
                params["learning_rate"] = log_uniform(settings_.pbt.lr_min, settings_.pbt.lr_max);
                params["temperature"] = log_uniform(settings_.pbt.temperature_min, settings_.pbt.temperature_max);
                params["batch"] = settings_.pbt.batches[pick(settings_.pbt.batches.size())];
            }
        } else {
            const Trial &parent = parents_.at(member);
            params = parent.candidate["params"];
            from = parent.id;
            if (parent.candidate.contains("explore")) params = explore(params);
        }
        json c = {{"id", id},          {"phase", "pbt"}, {"member", member}, {"generation", generation_}, {"params", params},
                  {"steps", settings_.pbt.steps}, {"continue", from}};
        c["keep"] = keep_list(id);
        return c;
    }

    // Explore: each training hyperparameter moves by a factor of 0.8 or 1.25, the batch to a neighbouring choice.
    json explore(json params) {
        auto factor = [&] { return pick(2) == 0 ? 0.8 : 1.25; };
        const PbtSettings &p = settings_.pbt;
        params["learning_rate"] = std::clamp(params.value("learning_rate", 2e-3) * factor(), p.lr_min, p.lr_max);
        params["temperature"] = std::clamp(params.value("temperature", 0.05) * factor(), p.temperature_min, p.temperature_max);
        auto at = std::find(p.batches.begin(), p.batches.end(), params.value("batch", int64_t(64)));
        if (at != p.batches.end()) {
            long i = long(at - p.batches.begin()) + (pick(2) == 0 ? -1 : 1);
            params["batch"] = p.batches[size_t(std::clamp(i, 0L, long(p.batches.size()) - 1))];
        }
        return params;
    }

    // The checkpoints a later ask may continue from: this generation's parents and members, and
    // the best member so far (what the search hands over at the end).
    json keep_list(uint64_t id) const {
        std::set<uint64_t> keep = {id};
        for (const auto &[m, t] : parents_) keep.insert(t.id);
        for (const auto &[m, t] : current_) keep.insert(t.id);
        for (const auto &[pid, c] : pending_)
            if (c.value("phase", "") == "pbt") keep.insert(pid);
        if (const Trial *top = best_member()) keep.insert(top->id);
        return json(std::vector<uint64_t>(keep.begin(), keep.end()));
    }

    void record(Trial trial) {
        told_.push_back(trial);
        if (trial.candidate.value("phase", "") == "architecture") {
            seen_genes_.insert(genes_of(trial.candidate).dump());
            population_.push_back(trial);
            // Aging evolution: the oldest member dies, however good, which keeps the search moving.
            while (population_.size() > settings_.population) population_.pop_front();
            return;
        }
        if (!is_member_of_this_generation(trial.candidate)) return; // a repeat of an earlier one
        if (!pbt_architecture_) pbt_architecture_ = best_architecture()->candidate["params"]; // as next_member chose it
        asked_in_generation_.insert(trial.candidate["member"].get<size_t>());
        current_[trial.candidate["member"].get<size_t>()] = trial;
        if (current_.size() == settings_.pbt.members) next_generation();
    }

    // A phase 2 candidate of the generation in training, not yet told (a repeat of the best is not).
    bool is_member_of_this_generation(const json &c) const {
        return c.value("phase", "") == "pbt" && c.value("generation", size_t(0)) == generation_ &&
               !current_.count(c.value("member", size_t(0)));
    }

    // Exploit and explore: the worst share of the members continue from the best share's
    // checkpoints with perturbed hyperparameters; the others continue from their own.
    void next_generation() {
        std::vector<const Trial *> ranked;
        for (const auto &[m, t] : current_) ranked.push_back(&t);
        std::sort(ranked.begin(), ranked.end(), [](const Trial *a, const Trial *b) { return a->score > b->score; });
        const size_t n = ranked.size();
        const size_t swapped = n >= 2 ? std::max<size_t>(1, size_t(std::floor(settings_.pbt.exploit * double(n)))) : 0;
        std::map<size_t, Trial> parents;
        for (size_t rank = 0; rank < n; ++rank) {
            const size_t member = ranked[rank]->candidate["member"].get<size_t>();
            Trial parent = *ranked[rank];
            parent.candidate.erase("explore");
            if (rank + swapped >= n) { // the k-th worst copies the k-th best: no draw, so a resumed search rebuilds it
                parent = *ranked[n - 1 - rank];
                parent.candidate["explore"] = true;
            }
            parents[member] = parent;
        }
        parents_ = std::move(parents);
        current_.clear();
        asked_in_generation_.clear();
        ++generation_;
    }

    const Trial *best_in_phase(const char *phase) const {
        const Trial *top = nullptr;
        for (const Trial &t : told_)
            if (t.candidate.value("phase", "") == phase && (top == nullptr || t.score > top->score)) top = &t;
        return top;
    }
    const Trial *best_member() const { return best_in_phase("pbt"); }
    const Trial *best_architecture() const { return best_in_phase("architecture"); }

    static const Trial *best_of(const std::vector<Trial> &trials) {
        const Trial *top = nullptr;
        for (const Trial &t : trials)
            if (top == nullptr || t.score > top->score) top = &t;
        return top;
    }

    std::string repeat_of_best(uint64_t id) {
        const Trial *top = best_of(told_);
        json c = top != nullptr ? top->candidate : architecture_candidate(id);
        c["id"] = id;
        pending_[id] = c;
        return c.dump();
    }

    json genes_of(const json &candidate) const {
        json genes = json::object();
        for (const auto &[gene, values] : settings_.choices.items()) genes[gene] = candidate["params"].value(gene, values[0]);
        return genes;
    }

    size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
    double log_uniform(double lo, double hi) { return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng_)); }

    std::string space_text_;
    Settings settings_;
    std::mt19937_64 rng_;
    uint64_t next_id_ = 1;
    size_t architectures_asked_ = 0;
    std::vector<Trial> told_;
    std::deque<Trial> population_; // the architectures alive, oldest first
    std::set<std::string> seen_genes_;
    std::map<uint64_t, json> pending_;
    // Phase 2: the architecture trained, the generation, its members told so far (by member), the
    // checkpoint each member continues from, and the members asked in this generation.
    std::optional<json> pbt_architecture_;
    size_t generation_ = 0;
    std::map<size_t, Trial> current_, parents_;
    std::set<size_t> asked_in_generation_;
};

} // namespace

AICACHE_OPTIMIZER_PLUGIN(Nas, "nas", "1.0.0")
