// evolve: evolutionary program search for eviction priority functions (genetic programming over
// expression trees, selected by aging evolution, Real et al. 2019). Each candidate is an expression
// over an entry's features that the host pastes into its `priority` patch template; the host sends
// the patch through its pipeline (validation, sandboxed compile, trial replay against the
// incumbent) and tells back the measured gain. See README.md for the search space.
#include "genome.hpp"

#include <aicache/sdk/optimizer.hpp>
#include <aicache_plugins/told_candidate.hpp>

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <random>
#include <set>
#include <sstream>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::not_found;
using aicache::sdk::state_format_error;
using evolve::Genome;
using evolve::Grammar;
using json = nlohmann::json;

struct Settings {
    uint64_t seed = 1;
    size_t population = 16;
    size_t tournament = 4;
    double crossover = 0.3;
    size_t max_nodes = 25;
    std::string template_name = "priority";
    std::string parameter = "priority";
    json fixed = json::object(); // other template parameters, passed through unchanged
    // Template parameters searched beside the expression: each name with the values it may take,
    // the first being where the seeds start.
    std::vector<std::pair<std::string, std::vector<std::string>>> choices;
    Grammar grammar;
    bool seed_classics = true;

    static Settings parse(std::string_view text) {
        json space = json::parse(text, nullptr, false);
        if (space.is_discarded() || !space.is_object()) throw invalid_argument("evolve: the search space is not a JSON object");
        Settings s;
        auto number = [&](const char *key, auto &out, double lo, double hi) {
            if (!space.contains(key)) return;
            if (!space[key].is_number() || space[key].get<double>() < lo || space[key].get<double>() > hi)
                throw invalid_argument(std::string("evolve: \"") + key + "\" must be a number in [" + std::to_string(lo) + ", " +
                                       std::to_string(hi) + "]");
            out = static_cast<std::remove_reference_t<decltype(out)>>(space[key].get<double>());
        };
        number("seed", s.seed, 0, 9e15);
        number("population", s.population, 2, 10000);
        number("tournament", s.tournament, 1, 1000);
        number("crossover", s.crossover, 0, 1);
        number("max_nodes", s.max_nodes, 3, 255);
        if (s.tournament > s.population) s.tournament = s.population;
        if (space.contains("template")) s.template_name = space["template"].get<std::string>();
        if (space.contains("parameter")) s.parameter = space["parameter"].get<std::string>();
        if (space.contains("fixed")) {
            if (!space["fixed"].is_object()) throw invalid_argument("evolve: \"fixed\" must be an object of template parameters");
            s.fixed = space["fixed"];
        }
        if (space.contains("choices")) {
            if (!space["choices"].is_object()) throw invalid_argument("evolve: \"choices\" must map template parameters to lists of values");
            for (const auto &[name, values] : space["choices"].items()) {
                if (!values.is_array() || values.empty() || values.size() > 64)
                    throw invalid_argument("evolve: choices of \"" + name + "\" must be a list of 1 to 64 values");
                std::vector<std::string> texts;
                for (const auto &v : values) texts.push_back(v.is_string() ? v.get<std::string>() : v.dump());
                if (name == s.parameter || s.fixed.contains(name))
                    throw invalid_argument("evolve: \"" + name + "\" is both searched by choices and the expression or fixed");
                s.choices.emplace_back(name, std::move(texts));
            }
        }
        if (space.contains("seed_classics")) s.seed_classics = space["seed_classics"].get<bool>();
        if (space.contains("features")) {
            s.grammar.features.clear();
            for (const auto &f : space["features"]) s.grammar.features.push_back(f.get<std::string>());
            if (s.grammar.features.empty()) throw invalid_argument("evolve: \"features\" is empty");
        }
        return s;
    }
};

// A candidate: the expression, and which value of each searched template parameter it takes.
struct Individual {
    Genome genome;
    std::vector<uint32_t> picks; // index into Settings::choices[i].second
};

struct Member {
    uint64_t id = 0;
    Individual individual;
    double score = 0;
};

class Evolve {
public:
    static constexpr const char *state_format = "evolve/2";

    explicit Evolve(std::string_view search_space)
        : space_text_(search_space), settings_(Settings::parse(search_space)), phenotype_(settings_.grammar) {
        clear();
    }

    std::string ask() {
        Individual individual = next_individual();
        uint64_t id = next_id_++;
        seen_.insert(fingerprint(individual));
        json out = candidate(id, individual);
        pending_[id] = std::move(individual);
        return out.dump();
    }

    void tell(std::string_view candidate_text, double score) {
        auto it = aicache_plugins::told_candidate(pending_, candidate_text, score, "evolve");
        const uint64_t id = it->first;
        Member member{id, std::move(it->second), score};
        pending_.erase(it);
        if (!best_ || score > best_->score) best_ = member;
        population_.push_back(std::move(member));
        // Aging evolution: the oldest member dies, however good, which keeps the search moving.
        while (population_.size() > settings_.population) population_.pop_front();
        ++told_;
    }

    std::string best() const {
        if (!best_) throw not_found("evolve: no candidate has been told yet");
        json out = candidate(best_->id, best_->individual);
        out["score"] = best_->score;
        return out.dump();
    }

    void save_state(aicache::sdk::StateWriter &out) const {
        json state;
        state["space"] = space_text_; // a state only resumes the search it came from
        std::ostringstream rng;
        rng << rng_;
        state["rng"] = rng.str();
        state["next_id"] = next_id_;
        state["told"] = told_;
        state["seeded"] = seeded_;
        state["seen"] = seen_;
        auto member_json = [](const Member &m) {
            return json{{"id", m.id}, {"genome", m.individual.genome.to_json()}, {"picks", m.individual.picks}, {"score", m.score}};
        };
        state["population"] = json::array();
        for (const Member &m : population_) state["population"].push_back(member_json(m));
        state["pending"] = json::array();
        for (const auto &[id, individual] : pending_)
            state["pending"].push_back(json{{"id", id}, {"genome", individual.genome.to_json()}, {"picks", individual.picks}});
        if (best_) state["best"] = member_json(*best_);
        out.text(state.dump());
    }

    void load_state(aicache::sdk::StateReader &in) {
        json state = json::parse(in.text(), nullptr, false);
        if (state.is_discarded() || !state.is_object()) throw state_format_error("evolve: saved state is not evolve/2 JSON");
        try {
            if (state.at("space").get<std::string>() != space_text_)
                throw state_format_error("evolve: the saved state belongs to a search with another search space");
            clear();
            std::istringstream rng(state.at("rng").get<std::string>());
            rng >> rng_;
            if (!rng) throw state_format_error("evolve: saved random state is damaged");
            next_id_ = state.at("next_id").get<uint64_t>();
            told_ = state.at("told").get<uint64_t>();
            seeded_ = state.at("seeded").get<size_t>();
            seen_ = state.at("seen").get<std::set<std::string>>();
            auto individual = [&](const json &m) {
                Individual out{Genome::from_json(m.at("genome"), settings_.grammar), m.value("picks", std::vector<uint32_t>{})};
                if (out.picks.size() != settings_.choices.size()) throw state_format_error("evolve: saved state has another number of choices");
                for (size_t i = 0; i < out.picks.size(); ++i)
                    if (out.picks[i] >= settings_.choices[i].second.size()) throw state_format_error("evolve: saved choice out of range");
                return out;
            };
            auto member = [&](const json &m) { return Member{m.at("id").get<uint64_t>(), individual(m), m.at("score").get<double>()}; };
            for (const json &m : state.at("population")) population_.push_back(member(m));
            for (const json &p : state.at("pending")) pending_[p.at("id").get<uint64_t>()] = individual(p);
            if (state.contains("best")) best_ = member(state["best"]);
        } catch (const json::exception &e) {
            throw state_format_error(std::string("evolve: saved state is damaged: ") + e.what());
        }
    }

    void clear() {
        rng_.seed(settings_.seed);
        next_id_ = 1;
        told_ = 0;
        seeded_ = 0;
        seen_.clear();
        population_.clear();
        pending_.clear();
        best_.reset();
    }

private:
    json candidate(uint64_t id, const Individual &individual) const {
        json params = settings_.fixed;
        params[settings_.parameter] = individual.genome.render(settings_.grammar);
        for (size_t i = 0; i < settings_.choices.size(); ++i) params[settings_.choices[i].first] = settings_.choices[i].second[individual.picks[i]];
        return json{{"id", id}, {"template", settings_.template_name}, {"params", params}};
    }
    // What makes two candidates the same policy: the ranking the expression induces, and the choices.
    std::string fingerprint(const Individual &individual) const {
        std::string out = phenotype_.fingerprint(individual.genome);
        for (uint32_t pick : individual.picks) out += "/" + std::to_string(pick);
        return out;
    }
    std::vector<uint32_t> random_picks() {
        std::vector<uint32_t> picks;
        for (const auto &[name, values] : settings_.choices) picks.push_back(std::uniform_int_distribution<uint32_t>(0, uint32_t(values.size() - 1))(rng_));
        return picks;
    }

    Individual next_individual() {
        // The classical priorities first (evolve::classics: LRU, LFU, hyperbolic, ..., LIRS's
        // rule), with every choice at its first value, so the search starts from the known good
        // and is measured against them.
        if (settings_.seed_classics) {
            std::vector<Genome> classics = evolve::classics(settings_.grammar);
            while (seeded_ < classics.size()) {
                Individual seed{classics[seeded_++], std::vector<uint32_t>(settings_.choices.size(), 0)};
                if (!seen_.count(fingerprint(seed))) return seed;
            }
        }
        for (int attempt = 0; attempt < 64; ++attempt) {
            Individual next = population_.size() < settings_.population
                                  ? Individual{evolve::random_tree(settings_.grammar, rng_, 1 + attempt % 4), random_picks()}
                                  : offspring();
            if (next.genome.size() <= settings_.max_nodes && !seen_.count(fingerprint(next))) return next;
        }
        // A crowded space: accept a repeat rather than loop; the host scores repeats from its records.
        // (64 attempts, each a fresh tree or offspring, rarely all land on known phenotypes.)
        return Individual{evolve::random_tree(settings_.grammar, rng_, 3), random_picks()};
    }

    Individual offspring() {
        const Member &parent = tournament();
        std::uniform_real_distribution<double> coin(0, 1);
        // With searched choices, a quarter of the children keep the parent's expression and take
        // another value of one choice.
        if (!settings_.choices.empty() && coin(rng_) < 0.25) {
            Individual child = parent.individual;
            const size_t which = std::uniform_int_distribution<size_t>(0, settings_.choices.size() - 1)(rng_);
            const auto count = uint32_t(settings_.choices[which].second.size());
            if (count > 1) child.picks[which] = (child.picks[which] + std::uniform_int_distribution<uint32_t>(1, count - 1)(rng_)) % count;
            return child;
        }
        if (coin(rng_) < settings_.crossover) {
            const Member &other = tournament();
            return Individual{evolve::mutate(evolve::crossover(parent.individual.genome, other.individual.genome, rng_), settings_.grammar, rng_, 0.5),
                              parent.individual.picks};
        }
        return Individual{evolve::mutate(parent.individual.genome, settings_.grammar, rng_, 1.0), parent.individual.picks};
    }

    const Member &tournament() {
        std::uniform_int_distribution<size_t> pick(0, population_.size() - 1);
        const Member *winner = nullptr;
        for (size_t i = 0; i < settings_.tournament; ++i) {
            const Member &m = population_[pick(rng_)];
            // Ties go to the smaller program (parsimony against bloat).
            if (!winner || m.score > winner->score || (m.score == winner->score && m.individual.genome.size() < winner->individual.genome.size()))
                winner = &m;
        }
        return *winner;
    }

    std::string space_text_;
    Settings settings_;
    evolve::Phenotype phenotype_;
    std::mt19937_64 rng_;
    uint64_t next_id_ = 1, told_ = 0;
    size_t seeded_ = 0;
    std::set<std::string> seen_; // phenotype fingerprints of every tree asked for
    std::deque<Member> population_;
    std::map<uint64_t, Individual> pending_;
    std::optional<Member> best_;
};

} // namespace

AICACHE_OPTIMIZER_PLUGIN(Evolve, "evolve", "1.0.0")
