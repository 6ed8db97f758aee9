// The genomes evolve searches over: expression trees in prefix order, with the operators the
// host's `priority` template defines. Rendering gives the C++ expression text the template takes;
// every operator is total (pdiv by zero is 0), so any tree is a valid priority.
#pragma once

#include <aicache/sdk/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace evolve {

enum class Op : uint8_t { constant, feature, add, sub, mul, pdiv, pmin, pmax, plog, psqrt };
constexpr int kOpCount = 10;

inline int arity(Op op) {
    switch (op) {
    case Op::constant:
    case Op::feature: return 0;
    case Op::plog:
    case Op::psqrt: return 1;
    default: return 2;
    }
}

struct Grammar {
    std::vector<std::string> features = {"recency", "frequency", "age", "size", "cost", "gap"};
    [[nodiscard]] int feature_index(const std::string &name) const {
        for (size_t i = 0; i < features.size(); ++i)
            if (features[i] == name) return static_cast<int>(i);
        return -1;
    }
};

struct Node {
    Op op = Op::constant;
    uint32_t feature = 0;
    double value = 0;
};

class Genome {
public:
    Genome() = default;
    explicit Genome(std::vector<Node> nodes) : nodes_(std::move(nodes)) {}

    [[nodiscard]] size_t size() const { return nodes_.size(); }
    [[nodiscard]] const std::vector<Node> &nodes() const { return nodes_; }

    // One past the last node of the subtree starting at `at`.
    [[nodiscard]] size_t subtree_end(size_t at) const {
        int open = 1;
        size_t i = at;
        while (open > 0 && i < nodes_.size()) open += arity(nodes_[i++].op) - 1;
        return i;
    }

    [[nodiscard]] Genome replaced(size_t at, const std::vector<Node> &with) const {
        std::vector<Node> out(nodes_.begin(), nodes_.begin() + static_cast<long>(at));
        out.insert(out.end(), with.begin(), with.end());
        out.insert(out.end(), nodes_.begin() + static_cast<long>(subtree_end(at)), nodes_.end());
        return Genome(std::move(out));
    }
    [[nodiscard]] std::vector<Node> subtree(size_t at) const {
        return {nodes_.begin() + static_cast<long>(at), nodes_.begin() + static_cast<long>(subtree_end(at))};
    }

    [[nodiscard]] std::string render(const Grammar &grammar) const {
        size_t at = 0;
        return render_at(grammar, at);
    }

    [[nodiscard]] nlohmann::json to_json() const {
        nlohmann::json out = nlohmann::json::array();
        for (const Node &n : nodes_)
            out.push_back(nlohmann::json::array({static_cast<int>(n.op), n.op == Op::feature ? double(n.feature) : n.value}));
        return out;
    }
    static Genome from_json(const nlohmann::json &in, const Grammar &grammar) {
        auto damaged = [](const std::string &why) { return aicache::sdk::state_format_error("evolve: saved genome: " + why); };
        if (!in.is_array() || in.empty()) throw damaged("not a non-empty array");
        std::vector<Node> nodes;
        int open = 1;
        for (const auto &item : in) {
            if (!item.is_array() || item.size() != 2 || !item[0].is_number_integer() || !item[1].is_number()) throw damaged("malformed node");
            int op = item[0].get<int>();
            if (op < 0 || op >= kOpCount) throw damaged("unknown operator " + std::to_string(op));
            Node n{static_cast<Op>(op), 0, item[1].get<double>()};
            if (n.op == Op::feature) {
                if (n.value < 0 || n.value >= double(grammar.features.size())) throw damaged("feature index out of range");
                n.feature = static_cast<uint32_t>(n.value);
                n.value = 0;
            }
            if (open <= 0) throw damaged("nodes after the end of the tree");
            open += arity(n.op) - 1;
            nodes.push_back(n);
        }
        if (open != 0) throw damaged("the tree is incomplete");
        return Genome(std::move(nodes));
    }

private:
    std::string render_at(const Grammar &grammar, size_t &at) const {
        const Node &n = nodes_[at++];
        switch (n.op) {
        case Op::constant: {
            char text[48];
            std::snprintf(text, sizeof text, "%.6g", std::fabs(n.value));
            return n.value < 0 ? "(0-" + std::string(text) + ")" : std::string(text);
        }
        case Op::feature: return grammar.features[n.feature];
        case Op::plog: return "plog(" + render_at(grammar, at) + ")";
        case Op::psqrt: return "psqrt(" + render_at(grammar, at) + ")";
        default: break;
        }
        std::string a = render_at(grammar, at);
        std::string b = render_at(grammar, at);
        switch (n.op) {
        case Op::add: return "(" + a + " + " + b + ")";
        case Op::sub: return "(" + a + " - " + b + ")";
        case Op::mul: return "(" + a + " * " + b + ")";
        case Op::pdiv: return "pdiv(" + a + ", " + b + ")";
        case Op::pmin: return "pmin(" + a + ", " + b + ")";
        default: return "pmax(" + a + ", " + b + ")";
        }
    }

    std::vector<Node> nodes_;
};

// The value the template's C++ computes for this tree (same total operators), for the features
// in grammar order.
inline double evaluate(const Genome &g, const std::vector<double> &features) {
    std::vector<double> stack;
    const auto &nodes = g.nodes();
    for (size_t i = nodes.size(); i-- > 0;) { // prefix order, evaluated right to left
        const Node &n = nodes[i];
        if (n.op == Op::constant) { stack.push_back(n.value); continue; }
        if (n.op == Op::feature) { stack.push_back(features[n.feature]); continue; }
        double a = stack.back();
        stack.pop_back();
        if (n.op == Op::plog) { stack.push_back(std::log1p(std::fabs(a))); continue; }
        if (n.op == Op::psqrt) { stack.push_back(std::sqrt(std::fabs(a))); continue; }
        double b = stack.back();
        stack.pop_back();
        switch (n.op) {
        case Op::add: stack.push_back(a + b); break;
        case Op::sub: stack.push_back(a - b); break;
        case Op::mul: stack.push_back(a * b); break;
        case Op::pdiv: stack.push_back(b == 0 ? 0.0 : a / b); break;
        case Op::pmin: stack.push_back(a < b ? a : b); break;
        default: stack.push_back(a < b ? b : a); break;
        }
    }
    double p = stack.empty() ? 0.0 : stack.back();
    return std::isnan(p) ? 0.0 : p;
}

// What a priority does to a policy is only the order it puts entries in: two trees that rank a
// fixed sample of plausible entries the same way are the same policy for the search's purposes
// (`frequency + 2` is `frequency`; every constant is every other constant), so the search
// measures one of them only.
class Phenotype {
public:
    explicit Phenotype(const Grammar &grammar) {
        std::mt19937_64 rng(20170101); // fixed: fingerprints must compare across runs and resumes
        std::uniform_real_distribution<double> unit(0, 1);
        auto log_uniform = [&](double lo, double hi) { return std::round(lo * std::pow(hi / lo, unit(rng))); };
        for (int i = 0; i < kSamples; ++i) {
            double age = log_uniform(1, 1e6);
            double recency = std::floor(age * unit(rng));
            double frequency = log_uniform(1, 200);
            std::vector<double> f;
            for (const std::string &name : grammar.features) {
                if (name == "recency") f.push_back(recency);
                else if (name == "frequency") f.push_back(frequency);
                else if (name == "age") f.push_back(age);
                else if (name == "size") f.push_back(log_uniform(64, 1e6));
                else if (name == "cost") f.push_back(log_uniform(1, 4000));
                else if (name == "gap") f.push_back(frequency > 1 ? std::max(1.0, std::floor(age / frequency * 2 * unit(rng))) : age);
                else f.push_back(log_uniform(1, 1e6));
            }
            samples_.push_back(std::move(f));
        }
    }

    // A hash of the rank of each sample's priority (ties share a rank).
    [[nodiscard]] std::string fingerprint(const Genome &g) const {
        std::vector<std::pair<double, int>> values;
        for (int i = 0; i < kSamples; ++i) values.emplace_back(evaluate(g, samples_[size_t(i)]), i);
        std::sort(values.begin(), values.end());
        std::vector<int> rank(kSamples);
        int r = 0;
        for (size_t i = 0; i < values.size(); ++i) {
            if (i > 0 && values[i].first != values[i - 1].first) r = static_cast<int>(i);
            rank[size_t(values[i].second)] = r;
        }
        uint64_t hash = 1469598103934665603ull; // FNV-1a: stable across builds, unlike std::hash
        for (int x : rank) {
            hash ^= static_cast<uint64_t>(x);
            hash *= 1099511628211ull;
        }
        char text[17];
        std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
        return text;
    }

private:
    static constexpr int kSamples = 64;
    std::vector<std::vector<double>> samples_;
};

using Rng = std::mt19937_64;

inline Node random_leaf(const Grammar &grammar, Rng &rng) {
    std::uniform_real_distribution<double> coin(0, 1);
    if (coin(rng) < 0.75) return Node{Op::feature, static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, grammar.features.size() - 1)(rng)), 0};
    // Constants spread over four orders of magnitude, rounded so the rendered text is exact.
    double magnitude = std::pow(10.0, std::uniform_real_distribution<double>(-2, 2)(rng));
    double value = std::round(magnitude * 1000) / 1000;
    if (coin(rng) < 0.2) value = -value;
    return Node{Op::constant, 0, value == 0 ? 0.01 : value};
}

inline Op random_function(Rng &rng) {
    static constexpr Op functions[] = {Op::add, Op::sub, Op::mul, Op::pdiv, Op::pmin, Op::pmax, Op::plog, Op::psqrt};
    return functions[std::uniform_int_distribution<size_t>(0, std::size(functions) - 1)(rng)];
}

// "Grow" trees: every position below the depth limit may end early.
inline void grow(std::vector<Node> &out, const Grammar &grammar, Rng &rng, int depth) {
    std::uniform_real_distribution<double> coin(0, 1);
    if (depth <= 0 || (out.size() > 0 && coin(rng) < 0.3)) {
        out.push_back(random_leaf(grammar, rng));
        return;
    }
    Op op = random_function(rng);
    out.push_back(Node{op, 0, 0});
    for (int i = 0; i < arity(op); ++i) grow(out, grammar, rng, depth - 1);
}

inline Genome random_tree(const Grammar &grammar, Rng &rng, int depth) {
    std::vector<Node> nodes;
    grow(nodes, grammar, rng, depth);
    return Genome(std::move(nodes));
}

inline Genome crossover(const Genome &a, const Genome &b, Rng &rng) {
    size_t at = std::uniform_int_distribution<size_t>(0, a.size() - 1)(rng);
    size_t from = std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng);
    return a.replaced(at, b.subtree(from));
}

// One random change with probability `strength`: a new subtree, another operator or feature of
// the same shape, a constant nudged, or a subtree hoisted to the root (which shrinks bloated trees).
inline Genome mutate(const Genome &g, const Grammar &grammar, Rng &rng, double strength) {
    std::uniform_real_distribution<double> coin(0, 1);
    if (coin(rng) >= strength) return g;
    size_t at = std::uniform_int_distribution<size_t>(0, g.size() - 1)(rng);
    double kind = coin(rng);
    if (kind < 0.45) {
        std::vector<Node> fresh;
        grow(fresh, grammar, rng, 2);
        return g.replaced(at, fresh);
    }
    if (kind < 0.8) {
        std::vector<Node> nodes = g.nodes();
        Node &n = nodes[at];
        if (n.op == Op::constant) n.value = std::round(n.value * std::pow(2.0, std::uniform_real_distribution<double>(-1, 1)(rng)) * 1000) / 1000;
        else if (n.op == Op::feature) n.feature = static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, grammar.features.size() - 1)(rng));
        else {
            Op op = random_function(rng);
            for (int tries = 0; arity(op) != arity(n.op) && tries < 16; ++tries) op = random_function(rng);
            if (arity(op) == arity(n.op)) n.op = op;
        }
        return Genome(std::move(nodes));
    }
    return Genome(g.subtree(at));
}

// Priorities the literature knows (the lowest is evicted), written in this grammar.
inline std::vector<Genome> classics(const Grammar &grammar) {
    std::vector<Genome> out;
    int recency = grammar.feature_index("recency"), frequency = grammar.feature_index("frequency");
    int age = grammar.feature_index("age"), size = grammar.feature_index("size");
    auto f = [](int i) { return Node{Op::feature, static_cast<uint32_t>(i), 0}; };
    if (recency >= 0) out.emplace_back(std::vector<Node>{{Op::sub, 0, 0}, {Op::constant, 0, 0}, f(recency)}); // LRU
    if (frequency >= 0) out.emplace_back(std::vector<Node>{f(frequency)});                                    // LFU
    if (frequency >= 0 && age >= 0) out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, f(frequency), f(age)}); // hyperbolic
    if (frequency >= 0 && size >= 0) out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, f(frequency), f(size)}); // size-aware LFU
    if (frequency >= 0 && recency >= 0) // frequency discounted by time since last use
        out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, f(frequency), {Op::add, 0, 0}, f(recency), {Op::constant, 0, 1}});
    if (int gap = grammar.feature_index("gap"); gap >= 0 && recency >= 0) {
        // LIRS's inter-reference recency (Jiang & Zhang, 2002): the larger of the time since the
        // last use and the last reuse distance; and uses per inter-reference recency.
        out.emplace_back(std::vector<Node>{{Op::sub, 0, 0}, {Op::constant, 0, 0}, {Op::pmax, 0, 0}, f(recency), f(gap)});
        if (frequency >= 0) out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, f(frequency), {Op::pmax, 0, 0}, f(recency), f(gap)});
        // LIRS's rule itself, which the history template's `promote` structure applies: the entry
        // just used (recency 0; 1 - pdiv(recency, recency) is 1 only then) is weighed by its reuse
        // distance, every other entry by its recency.
        out.emplace_back(std::vector<Node>{{Op::sub, 0, 0}, {Op::sub, 0, 0}, {Op::constant, 0, 0}, f(recency),
                                           {Op::mul, 0, 0}, f(gap), {Op::sub, 0, 0}, {Op::constant, 0, 1},
                                           {Op::pdiv, 0, 0}, f(recency), f(recency)});
    }
    if (int mean_gap = grammar.feature_index("mean_gap"); mean_gap >= 0 && recency >= 0) {
        // The same two with the reuse distance averaged over the key's history (the history
        // template's mean_gap), where one short gap of a bursty key would mislead.
        out.emplace_back(std::vector<Node>{{Op::sub, 0, 0}, {Op::constant, 0, 0}, {Op::pmax, 0, 0}, f(recency), f(mean_gap)});
        if (frequency >= 0) out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, f(frequency), {Op::pmax, 0, 0}, f(recency), f(mean_gap)});
        // And with the uses squared, so that a key used often outranks one merely used lately.
        // Found by hand: at four sizes it is at least the best classical policy on cache2k_web07
        // alone and on cloudphysics beside ARC (bench/evolve-record.md, "Uses squared"). Last, so that searches
        // recorded before it resume as they were until they reach it.
        if (frequency >= 0)
            out.emplace_back(std::vector<Node>{{Op::pdiv, 0, 0}, {Op::mul, 0, 0}, f(frequency), f(frequency), {Op::pmax, 0, 0}, f(recency), f(mean_gap)});
    }
    return out;
}

} // namespace evolve
