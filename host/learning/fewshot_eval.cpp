#include "learning/fewshot_eval.hpp"

#include "cache/semantic_index.hpp"
#include "core/hash.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/learner_instance.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

namespace aicache::learning {
namespace {

constexpr uint64_t kSeed = 0x5eed'f3e5'0000'0000ull;
constexpr uint64_t kDistractorClusters = 1ull << 40; // cluster ids of distractors: never a cluster's

// Clusters of texts joined by positive pairs, each ordered by a hash of its texts (which member
// is the entry, which the aliases, which the question asked follows from the texts alone).
std::vector<std::vector<std::string>> paraphrase_clusters(const std::vector<LabelledPair> &pairs, size_t min_size, uint64_t seed) {
    std::unordered_map<std::string, std::string> parent;
    auto find = [&](std::string x) {
        parent.emplace(x, x);
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    for (const auto &p : pairs)
        if (p.label == 1) {
            std::string a = find(p.a), b = find(p.b);
            if (a != b) parent[a] = b;
        }
    std::map<std::string, std::vector<std::string>> by_root;
    std::vector<std::string> texts;
    for (const auto &[text, up] : parent) texts.push_back(text);
    for (const auto &t : texts) by_root[find(t)].push_back(t);
    std::vector<std::vector<std::string>> clusters;
    for (auto &[root, members] : by_root) {
        if (members.size() < min_size) continue;
        std::sort(members.begin(), members.end(),
                  [seed](const std::string &x, const std::string &y) { return hash64(x, seed) < hash64(y, seed); });
        clusters.push_back(std::move(members));
    }
    return clusters;
}

struct Lookup {
    uint64_t cluster = 0; // the asked question's own cluster id (its entry is cached or not)
    std::string question;
    std::vector<cache::ScoredNeighbour> neighbours;
    std::vector<std::string> texts; // the neighbours' cached questions
};

// The data plane's steps for a batch of questions: embed, search, relate.
class LookupRunner {
public:
    LookupRunner(loader::LearnerInstance &learner, cache::SemanticIndex &index, size_t k) : learner_(learner), index_(index), k_(k) {}
    std::unordered_map<uint64_t, uint64_t> cluster_of; // index label -> cluster id
    std::unordered_map<uint64_t, std::string> text_of;  // index label -> cached question

    Status index_texts(const std::vector<std::string> &texts, const std::vector<uint64_t> &labels, const std::vector<uint64_t> &clusters) {
        constexpr size_t kBatch = 256;
        for (size_t at = 0; at < texts.size(); at += kBatch) {
            std::vector<std::string> batch(texts.begin() + at, texts.begin() + std::min(texts.size(), at + kBatch));
            size_t dim = 0;
            auto rows = learner_.embed(batch, dim);
            if (!rows) return rows.error();
            for (size_t i = 0; i < batch.size(); ++i) {
                if (Status added = index_.add(0, labels[at + i], std::span<const float>(rows->data() + i * dim, dim)); !added) return added;
                cluster_of[labels[at + i]] = clusters[at + i];
                text_of[labels[at + i]] = batch[i];
            }
        }
        return Status::ok();
    }

    void remove(const std::vector<uint64_t> &labels) {
        for (uint64_t label : labels) index_.remove(0, label), cluster_of.erase(label), text_of.erase(label);
    }

    Expected<std::vector<Lookup>> look_up(const std::vector<std::string> &questions, const std::vector<uint64_t> &clusters) {
        std::vector<Lookup> out;
        constexpr size_t kBatch = 256;
        for (size_t at = 0; at < questions.size(); at += kBatch) {
            std::vector<std::string> batch(questions.begin() + at, questions.begin() + std::min(questions.size(), at + kBatch));
            size_t dim = 0;
            auto rows = learner_.embed(batch, dim);
            if (!rows) return rows.error();
            for (size_t i = 0; i < batch.size(); ++i) {
                std::span<const float> query(rows->data() + i * dim, dim);
                auto near = index_.search(0, query, k_, true);
                std::vector<std::span<const float>> stored;
                for (const auto &n : near) stored.emplace_back(n.vector);
                auto scores = learner_.relate(query, stored);
                if (!scores) return scores.error();
                Lookup lookup{clusters[at + i], batch[i], {}, {}};
                for (size_t j = 0; j < near.size(); ++j) {
                    lookup.neighbours.push_back({cluster_of.at(near[j].key), (*scores)[j]});
                    lookup.texts.push_back(text_of.at(near[j].key));
                }
                out.push_back(std::move(lookup));
            }
        }
        return out;
    }

private:
    loader::LearnerInstance &learner_;
    cache::SemanticIndex &index_;
    size_t k_;
};

// The arm's operating point, and the highest-scored wrong answers it gives (to read what "wrong" was).
FewShotPoint judge(const std::vector<Lookup> &lookups, const std::set<uint64_t> &cached, cache::Pooling pooling, float temperature, double target,
                   std::vector<FewShotWrong> &wrong_examples) {
    std::vector<ScoredLookup> scored;
    std::vector<FewShotWrong> wrong;
    uint64_t positives = 0;
    for (const auto &l : lookups) {
        positives += cached.count(l.cluster);
        if (l.neighbours.empty()) continue;
        auto top = cache::vote_by_cluster(l.neighbours, pooling, temperature).front();
        scored.push_back({top.score, top.cluster == l.cluster});
        if (top.cluster != l.cluster) wrong.push_back({top.score, l.question, l.texts[top.best_member]});
    }
    FewShotPoint point = best_point(std::move(scored), positives, lookups.size(), target);
    std::sort(wrong.begin(), wrong.end(), [](const FewShotWrong &a, const FewShotWrong &b) { return a.score > b.score; });
    for (const auto &w : wrong)
        if (w.score >= point.threshold && wrong_examples.size() < 10) wrong_examples.push_back(w);
    return point;
}

} // namespace

FewShotPoint best_point(std::vector<ScoredLookup> lookups, uint64_t positives, uint64_t questions, double target) {
    std::sort(lookups.begin(), lookups.end(), [](const ScoredLookup &a, const ScoredLookup &b) { return a.score > b.score; });
    FewShotPoint best;
    best.positives = positives;
    best.questions = questions;
    best.threshold = lookups.empty() ? 1.0 : std::nextafter(lookups.front().score, 2.0f);
    uint64_t right = 0, wrong = 0;
    for (size_t i = 0; i < lookups.size();) {
        // Every lookup at one score is answered or none is: a threshold cannot split them.
        size_t j = i;
        for (; j < lookups.size() && lookups[j].score == lookups[i].score; ++j) (lookups[j].right ? right : wrong) += 1;
        if (questions == 0 || double(wrong) > target * double(questions)) break;
        best.threshold = lookups[i].score;
        best.right = right;
        best.wrong = wrong;
        i = j;
    }
    best.hit_rate = positives ? double(best.right) / double(positives) : 0;
    best.false_hit_rate = questions ? double(best.wrong) / double(questions) : 0;
    return best;
}

Expected<FewShotReport> evaluate_fewshot(const std::vector<LabelledPair> &pairs, const std::shared_ptr<const loader::PluginLibrary> &library,
                                         const FewShotOptions &options) {
    FewShotReport report;
    report.learner = library->facts().name_and_version();
    // Half the question components are held out: their clusters are the new ones the cache meets.
    const uint64_t seed = kSeed + options.seed;
    PairSplit split = split_by_question(pairs, 0, 0.5, seed);
    auto clusters = paraphrase_clusters(split.test, 3, seed);
    std::vector<size_t> cached_ids, uncached_ids;
    for (size_t c = 0; c < clusters.size(); ++c) (hash64(clusters[c].front(), seed + 1) & 1 ? cached_ids : uncached_ids).push_back(c);
    report.cached_clusters = cached_ids.size();
    report.uncached_clusters = uncached_ids.size();
    report.train_pairs = split.train.size();
    if (cached_ids.empty() || uncached_ids.empty())
        return Status(Errc::invalid_argument, "too few paraphrase clusters of 3 or more questions among the held-out pairs (" +
                                                  std::to_string(clusters.size()) + ")");

    auto learner = loader::LearnerInstance::create(library, options.learner_config);
    if (!learner) return learner.error();
    if (options.checkpoint) {
        if (Status loaded = learner->load_state(*options.checkpoint); !loaded) return loaded.with_context("checkpoint");
    } else {
        for (const auto &p : split.train)
            if (Status s = learner->observe_pair(p.a, p.b, p.label); !s) return s;
        auto started = std::chrono::steady_clock::now();
        auto trained = train_for(*learner, options.train_budget_ms, [&](uint64_t done, uint64_t budget) {
            if (options.on_progress) options.on_progress("training", done, budget);
        });
        if (!trained) return trained.error();
        report.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (options.keep_checkpoint) {
            auto state = learner->save_state();
            if (!state) return state.error().with_context("checkpoint");
            report.checkpoint = std::move(*state);
        }
    }

    size_t dim = 0;
    if (auto probe = learner->embed({"dimension"}, dim); !probe) return probe.error();
    cache::SemanticIndex index(dim);
    LookupRunner runner(*learner, index, std::max<size_t>(1, options.neighbours));
    uint64_t next_label = 1;

    // The cache before any verification: distractors and every cached cluster's entry.
    {
        std::set<std::string> held_out;
        for (const auto &c : clusters) held_out.insert(c.begin(), c.end());
        std::vector<std::string> texts;
        std::set<std::string> seen;
        for (const auto &p : split.train)
            for (const std::string *t : {&p.a, &p.b})
                if (texts.size() < options.distractors && !held_out.count(*t) && seen.insert(*t).second) texts.push_back(*t);
        report.distractors = texts.size();
        std::vector<uint64_t> labels, ids;
        for (size_t i = 0; i < texts.size(); ++i) labels.push_back(next_label++), ids.push_back(kDistractorClusters + i);
        for (size_t c : cached_ids) texts.push_back(clusters[c].front()), labels.push_back(next_label++), ids.push_back(c + 1);
        if (options.on_progress) options.on_progress("indexing", 0, texts.size());
        if (Status s = runner.index_texts(texts, labels, ids); !s) return s;
    }
    // Questions asked: each cluster's last member (never an entry or an alias).
    std::vector<std::string> uncached_questions;
    std::vector<uint64_t> uncached_clusters;
    for (size_t c : uncached_ids) uncached_questions.push_back(clusters[c].back()), uncached_clusters.push_back(c + 1);
    auto uncached_lookups = runner.look_up(uncached_questions, uncached_clusters);
    if (!uncached_lookups) return uncached_lookups.error();
    std::vector<std::string> cached_questions;
    std::vector<uint64_t> cached_clusters;
    for (size_t c : cached_ids) cached_questions.push_back(clusters[c].back()), cached_clusters.push_back(c + 1);
    auto zero_shot = runner.look_up(cached_questions, cached_clusters);
    if (!zero_shot) return zero_shot.error();

    size_t step = 0;
    for (size_t shots : options.shots) {
        if (options.on_progress) options.on_progress("verified members", step++, options.shots.size());
        std::set<uint64_t> arm_clusters;
        std::vector<Lookup> before = *uncached_lookups;
        std::vector<std::string> alias_texts, questions;
        std::vector<uint64_t> alias_labels, alias_ids, question_clusters;
        for (size_t i = 0; i < cached_ids.size(); ++i) {
            const auto &members = clusters[cached_ids[i]];
            if (members.size() < shots + 2) continue;
            arm_clusters.insert(cached_ids[i] + 1);
            before.push_back((*zero_shot)[i]);
            questions.push_back(members.back());
            question_clusters.push_back(cached_ids[i] + 1);
            for (size_t m = 1; m <= shots; ++m) alias_texts.push_back(members[m]), alias_labels.push_back(next_label++), alias_ids.push_back(cached_ids[i] + 1);
        }
        if (Status s = runner.index_texts(alias_texts, alias_labels, alias_ids); !s) return s;
        // The uncached questions are asked again: an alias may draw them to a wrong answer.
        auto after = runner.look_up(uncached_questions, uncached_clusters);
        auto taught = after ? runner.look_up(questions, question_clusters) : after;
        runner.remove(alias_labels);
        if (!taught) return taught.error();
        after->insert(after->end(), taught->begin(), taught->end());
        for (cache::Pooling pooling : {cache::Pooling::nearest, cache::Pooling::attention})
            for (size_t n : {size_t(0), shots}) {
                FewShotArm arm{n, arm_clusters.size(), pooling, {}, {}};
                arm.point = judge(n == 0 ? before : *after, arm_clusters, pooling, options.temperature, options.target_false_hit_rate, arm.wrong);
                report.arms.push_back(std::move(arm));
            }
    }
    return report;
}

} // namespace aicache::learning
