#include "learning/pairs.hpp"

#include "core/hash.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <unordered_map>

namespace aicache::learning {

Expected<std::vector<LabelledPair>> read_pairs(const std::filesystem::path &file, uint64_t limit) {
    std::ifstream in(file);
    if (!in) return Status(Errc::not_found, file.string() + ": cannot open the pairs file");
    std::vector<LabelledPair> pairs;
    std::string line;
    for (uint64_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
        auto bad = [&](const std::string &why) {
            return Status(Errc::invalid_argument, file.string() + ":" + std::to_string(number) + ": " + why +
                                                      " (expected {\"a\": \"...\", \"b\": \"...\", \"label\": 0|1})");
        };
        if (row.is_discarded() || !row.is_object()) return bad("not a JSON object");
        if (!row.contains("a") || !row["a"].is_string() || !row.contains("b") || !row["b"].is_string()) return bad("\"a\" and \"b\" must be strings");
        if (!row.contains("label") || !row["label"].is_number_integer() || (row["label"] != 0 && row["label"] != 1))
            return bad("\"label\" must be 0 or 1");
        pairs.push_back({row["a"].get<std::string>(), row["b"].get<std::string>(), row["label"].get<int>()});
        if (limit && pairs.size() >= limit) break;
    }
    if (pairs.empty()) return Status(Errc::invalid_argument, file.string() + ": no pairs");
    return pairs;
}

PairSplit split_by_question(const std::vector<LabelledPair> &pairs, double validation_share, double test_share, uint64_t seed) {
    std::unordered_map<std::string_view, uint32_t> ids;
    std::vector<uint32_t> parent;
    std::vector<std::string_view> text_of;
    auto intern = [&](std::string_view t) {
        auto [it, fresh] = ids.emplace(t, static_cast<uint32_t>(parent.size()));
        if (fresh) {
            parent.push_back(it->second);
            text_of.push_back(t);
        }
        return it->second;
    };
    auto find = [&](uint32_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    for (const auto &p : pairs) {
        uint32_t a = find(intern(p.a)), b = find(intern(p.b));
        if (a != b) parent[a] = b;
    }
    // A component's place follows from its smallest text, so it does not depend on pair order.
    std::vector<std::string_view> smallest(parent.size());
    for (uint32_t t = 0; t < parent.size(); ++t) {
        uint32_t root = find(t);
        if (smallest[root].empty() || text_of[t] < smallest[root]) smallest[root] = text_of[t];
    }
    PairSplit split;
    for (const auto &p : pairs) {
        uint32_t root = find(ids[p.a]);
        double u = double(hash64(smallest[root], seed) >> 11) / double(1ull << 53);
        if (u < test_share) split.test.push_back(p);
        else if (u < test_share + validation_share) split.validation.push_back(p);
        else split.train.push_back(p);
    }
    return split;
}

} // namespace aicache::learning
