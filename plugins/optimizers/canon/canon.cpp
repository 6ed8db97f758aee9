// canon: which prompt canonicalizations to apply (host/cache/prompt_canon.hpp) by sequential
// forward selection (Whitney 1971): start from none; each round tries adding each step not yet
// chosen, keeps the one that scored best if it beats the current set, and stops when no step
// helps. The host scores a set on labelled pairs: exact hits gained over no canonicalization, and
// the worst score if it adds a single false hit. n steps cost at most n(n+1)/2 + 1 trials, where
// trying every set would cost 2^n.
//
// Space: {"steps": ["whitespace", "case", ...]} (default: the host's five). A candidate is
// {"id", "params": {"steps": "case,whitespace"}}, steps in the space's order ("none" for none).
// Once the selection has stopped, asks repeat the best set (the host scores a repeat from its
// record). State (canon/1): the told log; loading replays it.
#include <aicache/sdk/optimizer.hpp>
#include <aicache_plugins/told_candidate.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>

namespace {

using aicache::sdk::invalid_argument;
using aicache::sdk::not_found;
using aicache::sdk::state_format_error;
using json = nlohmann::json;

const std::vector<std::string> kDefaultSteps = {"whitespace", "case", "punctuation", "code", "identifiers"};

class Canon {
public:
    static constexpr const char *state_format = "canon/1";

    explicit Canon(std::string_view space_text) : space_text_(space_text) {
        json space = json::parse(space_text, nullptr, false);
        if (space.is_discarded() || !space.is_object()) throw invalid_argument("canon: the search space is not a JSON object");
        steps_ = kDefaultSteps;
        if (space.contains("steps")) {
            if (!space["steps"].is_array() || space["steps"].empty()) throw invalid_argument("canon: \"steps\" must be a non-empty array of names");
            steps_.clear();
            std::set<std::string> seen;
            for (const auto &s : space["steps"]) {
                if (!s.is_string() || s.get<std::string>().empty()) throw invalid_argument("canon: every step must be a non-empty name");
                if (!seen.insert(s.get<std::string>()).second) throw invalid_argument("canon: step \"" + s.get<std::string>() + "\" is named twice");
                steps_.push_back(s.get<std::string>());
            }
        }
        clear();
    }

    std::string ask() {
        const uint64_t id = next_id_++;
        uint32_t set = 0;
        if (!asked_baseline_) {
            asked_baseline_ = true;
        } else if (auto next = next_in_round()) {
            set = *next;
        } else {
            set = best_set();
        }
        pending_[id] = set;
        return candidate(id, set).dump();
    }

    void tell(std::string_view candidate_text, double score) {
        auto it = aicache_plugins::told_candidate(pending_, candidate_text, score, "canon");
        const uint64_t id = it->first;
        const uint32_t set = it->second;
        pending_.erase(it);
        log_.push_back({{"id", id}, {"set", set}, {"score", score}});
        record(set, id, score);
        advance();
    }

    std::string best() const {
        if (scores_.empty()) throw not_found("canon: no candidate has been told yet");
        uint32_t set = best_set();
        json out = candidate(ids_.at(set), set);
        out["score"] = scores_.at(set);
        return out.dump();
    }

    void save_state(aicache::sdk::StateWriter &out) const { out.text(json{{"space", space_text_}, {"next_id", next_id_}, {"log", log_}, {"pending", pending_json()}}.dump()); }

    void load_state(aicache::sdk::StateReader &in) {
        json state = json::parse(in.text(), nullptr, false);
        if (state.is_discarded() || !state.is_object()) throw state_format_error("canon: saved state is not canon/1 JSON");
        try {
            if (state.at("space").get<std::string>() != space_text_)
                throw state_format_error("canon: the saved state belongs to a search with another search space");
            clear();
            const uint32_t all = (1u << steps_.size()) - 1;
            // Replaying the tells in order rebuilds the rounds exactly.
            for (const json &e : state.at("log")) {
                uint32_t set = e.at("set").get<uint32_t>();
                if (set & ~all) throw state_format_error("canon: a saved set names a step this space does not have");
                asked_baseline_ = true;
                if (set != 0) asked_in_round_.insert(set);
                record(set, e.at("id").get<uint64_t>(), e.at("score").get<double>());
                log_.push_back(e);
                advance();
            }
            for (const json &p : state.at("pending")) {
                uint32_t set = p.at("set").get<uint32_t>();
                pending_[p.at("id").get<uint64_t>()] = set;
                asked_baseline_ = true;
                if (set != 0) asked_in_round_.insert(set);
            }
            next_id_ = state.at("next_id").get<uint64_t>();
        } catch (const json::exception &e) {
            throw state_format_error(std::string("canon: saved state is damaged: ") + e.what());
        }
    }

    void clear() {
        next_id_ = 0;
        asked_baseline_ = false;
        current_ = 0;
        done_ = false;
        asked_in_round_.clear();
        scores_.clear();
        ids_.clear();
        pending_.clear();
        log_ = json::array();
    }

private:
    // A set told twice (asked again while the selection waited, or after it stopped) keeps its best score.
    void record(uint32_t set, uint64_t id, double score) {
        auto [it, fresh] = scores_.emplace(set, score);
        if (fresh || score > it->second) it->second = score, ids_[set] = id;
    }

    // The next set of this round not asked yet: the current set plus one step.
    std::optional<uint32_t> next_in_round() {
        if (done_ || !scores_.count(current_)) return std::nullopt;
        for (size_t i = 0; i < steps_.size(); ++i) {
            uint32_t set = current_ | (1u << i);
            if (set == current_ || asked_in_round_.count(set) || scores_.count(set)) continue;
            asked_in_round_.insert(set);
            return set;
        }
        return std::nullopt;
    }

    // After a tell: once every set of the round is scored, move to the best if it beats the current.
    void advance() {
        if (done_ || !scores_.count(current_)) return;
        std::optional<uint32_t> top;
        for (size_t i = 0; i < steps_.size(); ++i) {
            uint32_t set = current_ | (1u << i);
            if (set == current_) continue;
            if (!scores_.count(set)) return; // the round is not finished
            if (!top || scores_.at(set) > scores_.at(*top)) top = set;
        }
        if (top && scores_.at(*top) > scores_.at(current_)) {
            current_ = *top;
            asked_in_round_.clear();
        } else {
            done_ = true;
        }
    }

    uint32_t best_set() const {
        std::optional<uint32_t> top;
        for (const auto &[set, score] : scores_)
            if (!top || score > scores_.at(*top)) top = set;
        return top.value_or(0);
    }

    json candidate(uint64_t id, uint32_t set) const {
        std::string names;
        for (size_t i = 0; i < steps_.size(); ++i)
            if (set & (1u << i)) names += (names.empty() ? "" : ",") + steps_[i];
        return json{{"id", id}, {"params", {{"steps", names.empty() ? "none" : names}}}};
    }

    json pending_json() const {
        json out = json::array();
        for (const auto &[id, set] : pending_) out.push_back({{"id", id}, {"set", set}});
        return out;
    }

    std::string space_text_;
    std::vector<std::string> steps_;
    uint64_t next_id_ = 0;
    bool asked_baseline_ = false;
    uint32_t current_ = 0; // the chosen set so far
    bool done_ = false;
    std::set<uint32_t> asked_in_round_;
    std::map<uint32_t, double> scores_;
    std::map<uint32_t, uint64_t> ids_; // the candidate that scored each set's best
    std::map<uint64_t, uint32_t> pending_;
    json log_ = json::array();
};

} // namespace

AICACHE_OPTIMIZER_PLUGIN(Canon, "canon", "1.0.0")
