// The semantic index's search beside an exact scan over the same vectors, at 10 K and 100 K
// entries of 128 dimensions (the encoder's), one thread. Built once per size and shared.
#include "cache/dot_product.hpp"
#include "cache/semantic_index.hpp"
#include "cache/semantic_matcher.hpp"
#include "store/semantic_vectors.hpp"
#include "loader/learner_instance.hpp"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <span>
#include <unordered_set>

#include <unistd.h>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <random>

namespace {

constexpr size_t kDim = 128;

struct Fixture {
    std::vector<std::vector<float>> points, queries;
    std::unique_ptr<aicache::cache::SemanticIndex> index;
};

std::vector<float> unit(std::mt19937_64 &rng) {
    std::normal_distribution<float> normal;
    std::vector<float> v(kDim);
    double norm = 0;
    for (float &x : v) x = normal(rng), norm += double(x) * x;
    for (float &x : v) x = float(x / std::sqrt(norm));
    return v;
}

Fixture &fixture(size_t n) {
    static std::map<size_t, Fixture> built;
    auto [it, fresh] = built.try_emplace(n);
    if (fresh) {
        std::mt19937_64 rng(n);
        it->second.index = std::make_unique<aicache::cache::SemanticIndex>(kDim);
        for (size_t i = 0; i < n; ++i) {
            it->second.points.push_back(unit(rng));
            (void)it->second.index->add(1, i, it->second.points.back());
        }
        for (int q = 0; q < 256; ++q) it->second.queries.push_back(unit(rng));
    }
    return it->second;
}

void BM_SemanticSearchHnsw(benchmark::State &state) {
    Fixture &f = fixture(size_t(state.range(0)));
    size_t q = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.index->search(1, f.queries[q++ % f.queries.size()], 8));
}
BENCHMARK(BM_SemanticSearchHnsw)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

void BM_SemanticSearchExactScan(benchmark::State &state) {
    Fixture &f = fixture(size_t(state.range(0)));
    size_t q = 0;
    for (auto _ : state) {
        const auto &query = f.queries[q++ % f.queries.size()];
        float best = -2;
        size_t best_key = 0;
        for (size_t i = 0; i < f.points.size(); ++i) {
            float dot = 0;
            for (size_t d = 0; d < kDim; ++d) dot += f.points[i][d] * query[d];
            if (dot > best) best = dot, best_key = i;
        }
        benchmark::DoNotOptimize(best_key);
    }
}
BENCHMARK(BM_SemanticSearchExactScan)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMicrosecond);

} // namespace

// The whole semantic lookup the proxy makes on an exact miss (SemanticMatcher::find's calls), with
// the real encoder plugin, at 100 K cached questions: embed the question, search the index, and
// re-score the 4 nearest with the relation head on their stored embeddings (`relate`), beside the
// older re-score that embedded the cached texts again (`match`). The questions are Quora's
// (../shared/data/semantic/qqp_pairs.jsonl) when present, each query a paraphrase partner of an
// indexed question; without the data, generated ones. Untrained weights cost what trained ones do.
namespace {

struct EncoderFixture {
    std::shared_ptr<const aicache::loader::PluginLibrary> library;
    std::unique_ptr<aicache::loader::LearnerInstance> encoder;
    bool trained = false;
    std::optional<std::string> checkpoint;
};

EncoderFixture &encoder_fixture() {
    static EncoderFixture f = [] {
        EncoderFixture made;
        auto library = aicache::loader::PluginLibrary::load_file(std::string(AICACHE_BENCH_BUILD_DIR) + "/lib/aicache/plugins/encoder.so");
        if (!library) return made;
        made.library = *library;
        auto instance = aicache::loader::LearnerInstance::create(made.library, "{}");
        if (!instance) return made;
        // A trained encoder's embeddings spread differently from untrained ones (HNSW's recall
        // depends on it): AICACHE_BENCH_ENCODER_CHECKPOINT names one (eval semantic --save-checkpoint).
        if (const char *checkpoint = std::getenv("AICACHE_BENCH_ENCODER_CHECKPOINT"); checkpoint != nullptr && *checkpoint) {
            std::ifstream in(checkpoint, std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (!instance->load_state(bytes)) return made;
            made.trained = true;
            made.checkpoint = std::move(bytes);
        }
        made.encoder = std::make_unique<aicache::loader::LearnerInstance>(std::move(*instance));
        return made;
    }();
    return f;
}

struct QuestionFixture {
    std::vector<std::string> questions, queries; // each query paraphrases an indexed question
    std::unique_ptr<aicache::cache::SemanticIndex> index;
    std::vector<std::vector<float>> vectors;
    std::string source;
};

QuestionFixture &question_fixture() {
    static QuestionFixture f = [] {
        QuestionFixture made;
        std::ifstream in(std::string(AICACHE_BENCH_SOURCE_DIR) + "/../shared/data/semantic/qqp_pairs.jsonl");
        // The queries (paraphrase partners) are never indexed themselves: the index holds their
        // partners and everything else, as the cache would when a rephrased question arrives.
        std::unordered_set<std::string> seen;
        for (std::string line; std::getline(in, line) && made.questions.size() < 100'000;) {
            auto pair = nlohmann::json::parse(line, nullptr, false);
            if (pair.is_discarded()) continue;
            const std::string a = pair.value("a", ""), b = pair.value("b", "");
            if (pair.value("label", 0) == 1 && made.queries.size() < 256 && !seen.count(b)) {
                seen.insert(b);
                made.queries.push_back(b);
            }
            for (const std::string &text : {a, b})
                if (seen.insert(text).second) made.questions.push_back(text);
        }
        made.source = made.questions.empty() ? "generated" : "qqp";
        made.source += encoder_fixture().trained ? ", trained encoder" : ", untrained encoder";
        for (size_t i = made.questions.size(); i < 100'000; ++i)
            made.questions.push_back("how do I solve problem number " + std::to_string(i) + " with tool " + std::to_string(i % 97));
        for (size_t i = made.queries.size(); i < 256; ++i) made.queries.push_back("how can I solve problem " + std::to_string(i * 7) + " using tool " + std::to_string(i % 97));
        auto &enc = encoder_fixture();
        if (!enc.encoder) return made;
        made.index = std::make_unique<aicache::cache::SemanticIndex>(128);
        constexpr size_t kBatch = 256;
        for (size_t at = 0; at < made.questions.size(); at += kBatch) {
            std::vector<std::string> batch(made.questions.begin() + at, made.questions.begin() + std::min(made.questions.size(), at + kBatch));
            size_t dim = 0;
            auto rows = enc.encoder->embed(batch, dim);
            if (!rows || dim != 128) return made;
            for (size_t i = 0; i < batch.size(); ++i) {
                std::span<const float> v(rows->data() + i * dim, dim);
                (void)made.index->add(1, at + i, v);
                made.vectors.emplace_back(v.begin(), v.end());
            }
        }
        return made;
    }();
    return f;
}

void BM_EncoderEmbedOneQuestion(benchmark::State &state) {
    auto &f = encoder_fixture();
    if (!f.encoder) return state.SkipWithError("encoder plugin not built");
    size_t dim = 0;
    for (auto _ : state) benchmark::DoNotOptimize(f.encoder->embed({"how do I sort a list of dictionaries by a value in python?"}, dim));
}
BENCHMARK(BM_EncoderEmbedOneQuestion)->Unit(benchmark::kMicrosecond);

// HNSW on real embeddings at several beam widths, with recall@1 against an exact scan.
void BM_SemanticSearchQuestions(benchmark::State &state) {
    auto &f = question_fixture();
    auto &enc = encoder_fixture();
    if (!f.index) return state.SkipWithError("encoder plugin not built");
    f.index->set_search_beam(size_t(state.range(0)));
    std::vector<std::vector<float>> queries;
    size_t dim = 0;
    for (const auto &q : f.queries) queries.push_back(*enc.encoder->embed({q}, dim));
    size_t found = 0, right = 0, within = 0, i = 0;
    for (auto _ : state) {
        auto near = f.index->search(1, queries[i++ % queries.size()], 4);
        benchmark::DoNotOptimize(near);
    }
    for (const auto &q : queries) {
        auto near = f.index->search(1, q, 4);
        float best = -2;
        size_t best_key = 0;
        for (size_t k = 0; k < f.vectors.size(); ++k) {
            float dot = aicache::cache::best_dot_product()(f.vectors[k].data(), q.data(), q.size());
            if (dot > best) best = dot, best_key = k;
        }
        ++found;
        // By similarity, not key: texts that differ only in case or punctuation embed identically.
        auto is_best = [&](const aicache::cache::Neighbour &n) { return n.key == best_key || n.similarity >= best - 1e-6f; };
        right += !near.empty() && is_best(near[0]);
        within += std::any_of(near.begin(), near.end(), is_best);
    }
    f.index->set_search_beam(32);
    state.counters["recall@1"] = double(right) / double(found);
    state.counters["nearest_in_4"] = double(within) / double(found); // what the matcher re-scores
    state.SetLabel(f.source + ", " + std::to_string(f.questions.size()) + " questions");
}
BENCHMARK(BM_SemanticSearchQuestions)->Arg(16)->Arg(24)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);

void lookup(benchmark::State &state, bool relate) {
    auto &f = question_fixture();
    auto &enc = encoder_fixture();
    if (!f.index) return state.SkipWithError("encoder plugin not built");
    f.index->set_search_beam(size_t(state.range(0)));
    size_t i = 0;
    for (auto _ : state) {
        const std::string &question = f.queries[i++ % f.queries.size()];
        size_t dim = 0;
        auto v = enc.encoder->embed({question}, dim);
        auto near = f.index->search(1, *v, 4, relate);
        if (relate) {
            std::vector<std::span<const float>> stored;
            for (const auto &n : near) stored.emplace_back(n.vector);
            benchmark::DoNotOptimize(enc.encoder->relate(*v, stored));
        } else {
            std::vector<std::pair<std::string, std::string>> pairs;
            for (const auto &n : near) pairs.emplace_back(f.questions[n.key], question);
            benchmark::DoNotOptimize(enc.encoder->match(pairs));
        }
    }
    f.index->set_search_beam(32);
    state.SetLabel(f.source + ", " + std::to_string(f.questions.size()) + " questions");
}
void BM_SemanticLookupEmbedSearchRelate(benchmark::State &state) { lookup(state, true); }
void BM_SemanticLookupEmbedSearchMatchTexts(benchmark::State &state) { lookup(state, false); }
// Arg: the HNSW beam (32 is the host's).
BENCHMARK(BM_SemanticLookupEmbedSearchRelate)->Arg(32)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SemanticLookupEmbedSearchMatchTexts)->Arg(32)->Unit(benchmark::kMicrosecond);

// The host's own lookup, SemanticMatcher::find, over the same 100 K questions: the index is filled
// the way a host fills it after a model change (questions stored under another model, embedded
// again in batches when the matcher opens), and each lookup embeds, searches, re-scores with
// `relate`, reads the entry and asks the threshold learner. The rows above take find apart.
struct MatcherFixture {
    std::filesystem::path dir;
    std::unique_ptr<aicache::store::Database> db;
    std::unique_ptr<aicache::cache::SemanticMatcher> matcher;
    ~MatcherFixture() {
        matcher.reset();
        db.reset();
        std::error_code ec;
        if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
};

MatcherFixture &matcher_fixture() {
    static MatcherFixture f;
    if (f.matcher) return f;
    auto &q = question_fixture();
    auto &enc = encoder_fixture();
    auto threshold = aicache::loader::PluginLibrary::load_file(std::string(AICACHE_BENCH_BUILD_DIR) + "/lib/aicache/plugins/threshold.so");
    if (!enc.library || !threshold) return f;
    f.dir = std::filesystem::temp_directory_path() / ("aicache-bench-matcher-" + std::to_string(::getpid()));
    std::filesystem::create_directories(f.dir);
    auto db = aicache::store::Database::open(f.dir / "aicache.db");
    if (!db) return f;
    f.db = std::move(*db);
    std::vector<aicache::store::SemanticVectors::Entry> entries;
    for (size_t i = 0; i < q.questions.size(); ++i) entries.push_back({1, i, q.questions[i], "key " + std::to_string(i)});
    std::vector<std::vector<float>> placeholders(entries.size(), std::vector<float>(1, 0.0f)); // another model's: re-embedded at open
    if (!aicache::store::SemanticVectors(*f.db).put_many(entries, placeholders, "bench seed")) return f;
    aicache::cache::SemanticMatcherOptions options;
    options.encoder_checkpoint = enc.checkpoint;
    auto matcher = aicache::cache::SemanticMatcher::open(*f.db, f.dir / "semantic-index", enc.library, *threshold, options);
    if (matcher) f.matcher = std::move(*matcher);
    return f;
}

void BM_SemanticMatcherFind(benchmark::State &state) {
    auto &f = matcher_fixture();
    auto &q = question_fixture();
    if (!f.matcher) return state.SkipWithError("encoder or threshold plugin not built");
    size_t i = 0, found = 0;
    for (auto _ : state) {
        auto candidate = f.matcher->find(1, q.queries[i++ % q.queries.size()]);
        found += candidate && *candidate;
    }
    state.counters["with_candidate"] = double(found) / double(std::max<size_t>(1, i));
    state.SetLabel(q.source + ", " + std::to_string(f.matcher->size()) + " questions");
}
BENCHMARK(BM_SemanticMatcherFind)->Unit(benchmark::kMicrosecond);

} // namespace
