// The encoder's serving kernels (plugins/learners/encoder/inference.cpp) against the LibTorch
// model they copy, the base64 float vectors of the relate request (sdk/vectors.hpp), and the
// learner's continual learning: its memory, its checkpoints, replay and EWC.
// A separate executable: it links LibTorch, which the other test executables must not.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "features.hpp"
#include "learner.hpp"
#include "memory.hpp"
#include "network.hpp"

#include <aicache/sdk/vectors.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

using encoder::Features;
using encoder::Inference;
using encoder::Kernels;

const std::vector<std::vector<std::string>> kClusters = {
    {"how do i sort a list in python", "sorting a python list", "python sort list", "how to sort a list with python"},
    {"reverse a string in java", "java string reverse", "how do i reverse a java string"},
    {"open a file in c", "c open file", "how to open a file using c"},
    {"what is the capital of france", "capital city of france", "france capital"},
    {"convert celsius to fahrenheit", "celsius to fahrenheit conversion", "how to convert c to f"},
};

encoder::NetworkConfig small_config() {
    encoder::NetworkConfig c;
    c.buckets = 1 << 12; // the table's size changes nothing the kernels do, and builds faster
    return c;
}

// Texts as features, with the clusters and the labelled pairs (within a cluster 1, across 0)
// train() takes; everything points into `features`, which never moves once built.
struct Corpus {
    std::vector<Features> features;
    std::vector<std::vector<const Features *>> clusters;
    std::vector<encoder::Pair> pairs;
    std::vector<const Features *> texts;

    explicit Corpus(uint64_t buckets) {
        for (const auto &cluster : kClusters)
            for (const auto &text : cluster) features.push_back(encoder::features(text, buckets));
        size_t at = 0;
        for (const auto &cluster : kClusters) {
            clusters.emplace_back();
            for (size_t i = 0; i < cluster.size(); ++i) clusters.back().push_back(&features[at++]);
        }
        for (const Features &f : features) texts.push_back(&f);
        for (size_t i = 0; i < clusters.size(); ++i)
            for (size_t j = 0; j < clusters.size(); ++j)
                for (const Features *a : clusters[i])
                    for (const Features *b : clusters[j])
                        if (a != b) pairs.push_back({a, b, i == j ? 1.0f : 0.0f});
    }
};

float max_difference(const std::vector<float> &a, const std::vector<float> &b) {
    REQUIRE(a.size() == b.size());
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst;
}

void check_agrees_with_torch(const encoder::Network &net, const Corpus &corpus) {
    std::vector<float> plain = net.embed(corpus.texts), torch = net.embed_with_torch(corpus.texts);
    CHECK_MESSAGE(plain.size() == corpus.texts.size() * size_t(net.dim()), "one row of dim floats per text");
    CHECK_MESSAGE(max_difference(plain, torch) <= 1e-5f, "embed: the serving kernels drift from LibTorch's forward pass");
    std::vector<float> scores = net.match(corpus.pairs), torch_scores = net.match_with_torch(corpus.pairs);
    CHECK_MESSAGE(max_difference(scores, torch_scores) <= 1e-5f, "match: the serving kernels drift from LibTorch's relation head");
}

std::vector<float> relate_each_to_first(const encoder::Network &net, const std::vector<const Features *> &texts) {
    std::vector<float> rows = net.embed(texts);
    const size_t dim = size_t(net.dim());
    std::vector<const float *> candidates;
    for (size_t i = 0; i < texts.size(); ++i) candidates.push_back(rows.data() + i * dim);
    return net.relate(rows.data(), candidates);
}

std::vector<float> floats_with_bits(std::initializer_list<uint32_t> bits) {
    std::vector<float> out;
    for (uint32_t b : bits) out.push_back(std::bit_cast<float>(b));
    return out;
}

} // namespace

TEST_CASE("serving_kernels_agree_with_libtorch_on_a_fresh_network") {
    for (const encoder::NetworkConfig &config : {encoder::NetworkConfig{}, small_config()}) {
        CAPTURE(config.buckets);
        encoder::Network net(config);
        check_agrees_with_torch(net, Corpus(config.buckets));
    }
}

TEST_CASE("serving_kernels_agree_with_libtorch_after_training") {
    encoder::Network net(small_config());
    Corpus corpus(small_config().buckets);
    std::mt19937_64 rng(7);
    encoder::TrainReport report = net.train(corpus.clusters, corpus.pairs, 300, rng);
    REQUIRE_MESSAGE(report.steps > 0, "300 ms of training took no step");
    check_agrees_with_torch(net, corpus);
}

TEST_CASE("serving_kernels_handle_layer_sizes_that_are_not_whole_registers") {
    encoder::NetworkConfig config = small_config();
    config.bag_dim = 5, config.hidden = 7, config.dim = 3, config.relation_hidden = 9;
    encoder::Network net(config);
    Corpus corpus(config.buckets);
    std::mt19937_64 rng(7);
    (void)net.train(corpus.clusters, corpus.pairs, 100, rng);
    check_agrees_with_torch(net, corpus);
}

TEST_CASE("serving_kernels_agree_with_libtorch_for_deeper_networks_and_every_activation") {
    // What the nas optimizer searches over: depth, width, activation and dropout (training only).
    for (auto activation : {encoder::Activation::relu, encoder::Activation::gelu, encoder::Activation::tanh})
        for (int64_t layers : {1, 2, 3}) {
            encoder::NetworkConfig config = small_config();
            config.layers = layers, config.activation = activation, config.hidden = 37, config.dropout = 0.2;
            CAPTURE(layers);
            CAPTURE(int(activation));
            encoder::Network net(config);
            Corpus corpus(config.buckets);
            std::mt19937_64 rng(7);
            REQUIRE(net.train(corpus.clusters, corpus.pairs, 60000, rng, 5).steps == 5); // by steps: the time budget never binds
            check_agrees_with_torch(net, corpus); // dropout is off when serving, in both
        }
}

TEST_CASE("a_checkpoint_of_one_architecture_is_refused_by_another") {
    encoder::NetworkConfig two = small_config();
    two.layers = 2;
    encoder::Network one_layer(small_config()), two_layers(two);
    CHECK_THROWS_AS(two_layers.load(one_layer.save()), std::invalid_argument);
    CHECK_THROWS_AS(one_layer.load(two_layers.save()), std::invalid_argument);
    encoder::NetworkConfig gelu = two;
    gelu.activation = encoder::Activation::gelu; // same weights' shapes: loads, serves with its own activation
    encoder::Network other(gelu);
    CHECK_NOTHROW(other.load(two_layers.save()));
}

TEST_CASE("relate_on_embeddings_equals_match_on_texts") {
    encoder::Network net(small_config());
    Corpus corpus(small_config().buckets);
    std::mt19937_64 rng(7);
    (void)net.train(corpus.clusters, corpus.pairs, 200, rng);
    // match's pairs are [cached, question]: relate's candidates are the cached texts.
    const Features *question = corpus.texts.front();
    std::vector<encoder::Pair> pairs;
    std::vector<const Features *> texts = {question};
    for (const Features *cached : corpus.texts) {
        pairs.push_back({cached, question, 0});
        texts.push_back(cached);
    }
    std::vector<float> related = relate_each_to_first(net, texts);
    related.erase(related.begin()); // the question against itself
    CHECK_MESSAGE(max_difference(related, net.match(pairs)) <= 1e-6f, "relate on embeddings must score as match on their texts");
    CHECK_MESSAGE(net.relate(related.data(), {}).empty(), "no candidates, no scores");
}

TEST_CASE("portable_and_avx2_kernels_agree") {
    encoder::Network net(small_config());
    Corpus corpus(small_config().buckets);
    std::mt19937_64 rng(7);
    (void)net.train(corpus.clusters, corpus.pairs, 200, rng);
    CHECK(Inference(net.weights()).kernels() == (Inference::avx2_supported() ? Kernels::avx2 : Kernels::portable));
    if (!Inference::avx2_supported()) {
        MESSAGE("this CPU has no AVX2+FMA: only the portable kernels can run here");
        CHECK_THROWS_AS(Inference(net.weights(), Kernels::avx2), std::invalid_argument);
        return;
    }
    Inference portable(net.weights(), Kernels::portable), avx2(net.weights(), Kernels::avx2);
    REQUIRE(portable.kernels() == Kernels::portable);
    const size_t n = corpus.texts.size(), dim = size_t(portable.dim());
    std::vector<float> rows_portable(n * dim), rows_avx2(n * dim);
    portable.embed(corpus.texts, rows_portable.data());
    avx2.embed(corpus.texts, rows_avx2.data());
    CHECK_MESSAGE(max_difference(rows_portable, rows_avx2) <= 1e-6f, "embed differs between the kernel paths");

    std::vector<const float *> candidates;
    for (size_t i = 0; i < n; ++i) candidates.push_back(rows_avx2.data() + i * dim);
    std::vector<float> related_portable(n), related_avx2(n);
    portable.relate(rows_avx2.data(), candidates, related_portable.data());
    avx2.relate(rows_avx2.data(), candidates, related_avx2.data());
    CHECK_MESSAGE(max_difference(related_portable, related_avx2) <= 1e-6f, "relate differs between the kernel paths");

    std::vector<const Features *> first(n, corpus.texts.front());
    std::vector<float> matched_portable(n), matched_avx2(n);
    portable.match(corpus.texts, first, matched_portable.data());
    avx2.match(corpus.texts, first, matched_avx2.data());
    CHECK_MESSAGE(max_difference(matched_portable, matched_avx2) <= 1e-6f, "match differs between the kernel paths");
}

TEST_CASE("a_loaded_checkpoint_serves_exactly_what_its_network_served") {
    encoder::Network trained(small_config()), fresh(small_config());
    Corpus corpus(small_config().buckets);
    std::mt19937_64 rng(7);
    (void)trained.train(corpus.clusters, corpus.pairs, 200, rng);
    REQUIRE_MESSAGE(max_difference(trained.embed(corpus.texts), fresh.embed(corpus.texts)) > 1e-3f, "training changed nothing");
    fresh.load(trained.save());
    CHECK_MESSAGE(trained.embed(corpus.texts) == fresh.embed(corpus.texts), "load() must refresh the serving weights");
    CHECK(trained.match(corpus.pairs) == fresh.match(corpus.pairs));
}

TEST_CASE("float_base64_round_trip_is_exact") {
    // -0, denormals, infinities and a NaN with a payload: every bit must come back.
    const std::vector<float> all = floats_with_bits({0x3f800000u, 0x80000000u, 0x00000001u, 0x7f800000u, 0xff800000u, 0x7fc00123u, 0x12345678u});
    for (size_t n = 0; n <= all.size(); ++n) { // every length, so every padding case
        CAPTURE(n);
        std::string text = aicache::sdk::encode_floats_base64(all.data(), n);
        CHECK(text.size() == (4 * n + 2) / 3 * 4);
        std::vector<float> back = {42.0f};
        REQUIRE(aicache::sdk::decode_floats_base64(text, back));
        REQUIRE(back.size() == n);
        CHECK(std::memcmp(back.data(), all.data(), n * sizeof(float)) == 0);
    }
}

TEST_CASE("float_base64_is_standard_base64_of_little_endian_float32") {
    const float values[] = {1.0f, -2.0f};
    CHECK(aicache::sdk::encode_floats_base64(values, 1) == "AACAPw=="); // 00 00 80 3f
    CHECK(aicache::sdk::encode_floats_base64(values, 2) == "AACAPwAAAMA="); // ... 00 00 00 c0
}

TEST_CASE("decode_refuses_wrong_lengths_and_characters_outside_the_alphabet") {
    std::vector<float> out;
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AAAA", out), "3 bytes are not a whole float32");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACAPwA=", out), "5 bytes are not a whole number of float32s");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACAPw=", out), "unpadded length");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACAPw", out), "missing padding");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACA Pw==", out), "a space");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACAPw-_", out), "the URL-safe alphabet is not this one");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AA=APw==", out), "padding in the middle");
    CHECK_MESSAGE(!aicache::sdk::decode_floats_base64("AACAPx==", out), "non-zero bits under the padding");
    CHECK(aicache::sdk::decode_floats_base64("AACAPw==", out));
    CHECK(out == std::vector<float>{1.0f});
    CHECK(aicache::sdk::decode_floats_base64("", out));
    CHECK(out.empty());
}

TEST_CASE("read_relate_request_accepts_what_write_relate_request_writes") {
    const std::vector<float> query = {0.5f, -0.25f, 3.0f}, a = {1, 2, 3}, b = {-1e-30f, 7, 1e30f};
    std::string request = aicache::sdk::write_relate_request(query.data(), 3, {a.data(), b.data()});
    CHECK(request == R"({"op":"relate","query":")" + aicache::sdk::encode_floats_base64(query.data(), 3) + R"(","candidates":[")" +
                         aicache::sdk::encode_floats_base64(a.data(), 3) + R"(",")" + aicache::sdk::encode_floats_base64(b.data(), 3) + R"("]})");
    std::vector<float> read_query;
    std::vector<std::vector<float>> read_candidates(5, std::vector<float>(9)); // stale contents must not survive
    REQUIRE(aicache::sdk::read_relate_request(request, read_query, read_candidates));
    CHECK(read_query == query);
    REQUIRE(read_candidates.size() == 2);
    CHECK(read_candidates[0] == a);
    CHECK(read_candidates[1] == b);

    std::string none = aicache::sdk::write_relate_request(query.data(), 3, {});
    REQUIRE(aicache::sdk::read_relate_request(none, read_query, read_candidates));
    CHECK(read_candidates.empty());
}

TEST_CASE("read_relate_request_refuses_malformed_or_truncated_input") {
    const std::vector<float> query = {0.5f, -0.25f}, a = {1, 2};
    const std::string request = aicache::sdk::write_relate_request(query.data(), 2, {a.data(), a.data()});
    std::vector<float> q;
    std::vector<std::vector<float>> c;
    for (size_t n = 0; n < request.size(); ++n) {
        CAPTURE(n);
        CHECK_MESSAGE(!aicache::sdk::read_relate_request(std::string_view(request).substr(0, n), q, c), "a truncated request");
    }
    const std::string q64 = aicache::sdk::encode_floats_base64(query.data(), 2);
    for (const std::string &bad : std::vector<std::string>{
             request + " ",                                                        // trailing bytes
             request + "}",                                                        //
             R"({"op": "relate","query":")" + q64 + R"(","candidates":[]})",     // another (valid JSON) spelling
             R"({"op":"match","query":")" + q64 + R"(","candidates":[]})",       // another op
             R"({"op":"relate","query":")" + q64 + R"(","candidates":[,]})",     // an empty element
             R"({"op":"relate","query":")" + q64 + R"(","candidates":[")" + q64 + R"(",]})", // a trailing comma
             R"({"op":"relate","query":")" + q64 + R"(","candidates":[")" + q64 + R"("")" + q64 + R"("]})", // no comma
             R"({"op":"relate","query":"AAAA","candidates":[]})",               // 3 bytes
             R"({"op":"relate","query":"\u0041ACAPw==","candidates":[]})",      // an escape (JSON's business)
             R"({"op":"relate","candidates":[],"query":")" + q64 + R"("})",     // another key order
         }) {
        CAPTURE(bad);
        CHECK(!aicache::sdk::read_relate_request(bad, q, c));
    }
}

namespace {

// A host writer that appends to `out`.
aicache_writer writer_into(std::string &out) {
    return {&out, [](void *ctx, const void *data, size_t len) {
                static_cast<std::string *>(ctx)->append(static_cast<const char *>(data), len);
                return AICACHE_OK;
            }};
}

// The learner as the plugin's trampolines drive it, without loading the plugin.
struct LearnerDriver {
    explicit LearnerDriver(const std::string &config) : learner(aicache::sdk::Config::parse(config)) {}

    void observe(const std::string &a, const std::string &b, int label) {
        aicache_example e{};
        e.struct_size = sizeof e;
        e.type = AICACHE_EXAMPLE_QUERY_PAIR;
        e.text_a = a.data(), e.text_a_len = a.size();
        e.text_b = b.data(), e.text_b_len = b.size();
        e.label = label;
        learner.observe(e);
    }
    // Within a cluster 1, across 0: the pairs of kClusters[first, last).
    void observe_clusters(size_t first, size_t last) {
        for (size_t i = first; i < last; ++i)
            for (size_t j = first; j < last; ++j)
                for (const auto &a : kClusters[i])
                    for (const auto &b : kClusters[j])
                        if (a != b) observe(a, b, i == j ? 1 : 0);
    }
    nlohmann::json train(uint64_t budget_ms) { return nlohmann::json::parse(learner.train(budget_ms)); }
    std::string state() const {
        std::string out;
        aicache_writer writer = writer_into(out);
        aicache::sdk::StateWriter w(&writer);
        learner.save_state(w);
        w.flush();
        return out;
    }
    void load(const std::string &state) {
        aicache::sdk::StateReader r({state.data(), state.size()});
        learner.load_state(r);
        r.expect_end();
    }

    encoder::Learner learner;
};

const std::string kSmallLearner = R"({"buckets": 4096, "seed": 3)";

std::string small_learner(const std::string &more = "") { return kSmallLearner + (more.empty() ? "" : ", " + more) + "}"; }

bool same_pairs(const std::vector<encoder::RememberedPair> &x, const std::vector<encoder::RememberedPair> &y) {
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
        if (x[i].a != y[i].a || x[i].b != y[i].b || x[i].label != y[i].label) return false;
    return true;
}

double squared_distance(const std::vector<float> &x, const std::vector<float> &y) {
    double sum = 0;
    for (size_t i = 0; i < x.size(); ++i) sum += double(x[i] - y[i]) * double(x[i] - y[i]);
    return sum;
}

double squared_distance(const encoder::InferenceWeights &x, const encoder::InferenceWeights &y) {
    double sum = squared_distance(x.bag, y.bag);
    for (auto layer : {&encoder::InferenceWeights::fc1, &encoder::InferenceWeights::fc2, &encoder::InferenceWeights::skip,
                       &encoder::InferenceWeights::rel1, &encoder::InferenceWeights::rel2})
        sum += squared_distance((x.*layer).weight, (y.*layer).weight) + squared_distance((x.*layer).bias, (y.*layer).bias);
    return sum;
}

} // namespace

TEST_CASE("the_memory_keeps_at_most_its_capacity_as_a_uniform_sample_of_everything_offered") {
    encoder::Memory memory(100, 1);
    for (int i = 0; i < 10000; ++i) memory.offer("question " + std::to_string(i), "other " + std::to_string(i), float(i % 2));
    REQUIRE(memory.pairs().size() == 100);
    CHECK(memory.seen() == 10000);
    size_t early = 0;
    for (const auto &p : memory.pairs()) early += std::stoi(p.a.substr(9)) < 5000;
    // Binomial(100, 1/2): 50 +- 5; a memory that kept the first or the last pairs would hold 100 or 0.
    CHECK_MESSAGE(early >= 30, "the first half of the stream is under-represented: " << early << " of 100");
    CHECK_MESSAGE(early <= 70, "the second half of the stream is under-represented: " << 100 - early << " of 100");

    memory.offer(memory.pairs().front().a, memory.pairs().front().b, 1);
    CHECK_MESSAGE(memory.seen() == 10000, "a pair already held is not offered again");

    encoder::Memory none(0, 1);
    none.offer("a", "b", 1);
    CHECK(none.pairs().empty());
}

TEST_CASE("a_saved_memory_reads_back_the_same_and_a_smaller_memory_keeps_a_subset_of_it") {
    encoder::Memory memory(50, 1);
    for (int i = 0; i < 80; ++i) memory.offer("q" + std::to_string(i), "p" + std::to_string(i), float(i % 2));
    std::string bytes;
    aicache_writer writer = writer_into(bytes);
    {
        aicache::sdk::StateWriter w(&writer);
        memory.save(w);
    }
    aicache::sdk::StateReader same({bytes.data(), bytes.size()});
    encoder::Memory back = encoder::Memory::read(same, 50, 1);
    same.expect_end();
    CHECK(same_pairs(back.pairs(), memory.pairs()));
    CHECK(back.seen() == 80);

    aicache::sdk::StateReader smaller_reader({bytes.data(), bytes.size()});
    encoder::Memory smaller = encoder::Memory::read(smaller_reader, 10, 1);
    REQUIRE(smaller.pairs().size() == 10);
    for (const auto &p : smaller.pairs())
        CHECK(std::any_of(memory.pairs().begin(), memory.pairs().end(), [&](const auto &m) { return m.a == p.a && m.b == p.b; }));

    for (size_t n = 0; n < bytes.size(); n += 7) {
        aicache::sdk::StateReader truncated({bytes.data(), n});
        CHECK_THROWS_AS((void)encoder::Memory::read(truncated, 50, 1), aicache::sdk::Error);
    }
}

TEST_CASE("a_checkpoint_with_memory_round_trips_and_an_encoder_1_state_without_memory_still_loads") {
    LearnerDriver first(small_learner());
    first.observe_clusters(0, 5);
    (void)first.train(100);
    const std::string state = first.state();
    REQUIRE_MESSAGE(!first.learner.memory().pairs().empty(), "the pairs trained on are remembered");

    LearnerDriver second(small_learner());
    second.load(state);
    CHECK(same_pairs(second.learner.memory().pairs(), first.learner.memory().pairs()));
    CHECK(second.learner.memory().seen() == first.learner.memory().seen());
    LearnerDriver third(small_learner());
    third.load(second.state());
    CHECK_MESSAGE(same_pairs(third.learner.memory().pairs(), first.learner.memory().pairs()), "saved -> loaded -> saved changes the memory");
    Corpus corpus(4096);
    CHECK(third.learner.network().match(corpus.pairs) == first.learner.network().match(corpus.pairs));

    // encoder/1: buckets, dim, steps, the network; nothing after it.
    std::string old;
    aicache_writer writer = writer_into(old);
    {
        aicache::sdk::StateWriter w(&writer);
        w.u64(4096), w.u64(128), w.u64(7);
        w.text(first.learner.network().save());
    }
    LearnerDriver from_old(small_learner());
    from_old.load(old);
    CHECK(from_old.learner.memory().pairs().empty());
    CHECK(from_old.learner.network().match(corpus.pairs) == first.learner.network().match(corpus.pairs));
    from_old.observe_clusters(3, 5);
    nlohmann::json metrics = from_old.train(50);
    CHECK(metrics["replayed_pairs"] == 0);
    CHECK(metrics["total_steps"].get<uint64_t>() >= 7);
}

TEST_CASE("replay_mixes_the_checkpoints_memory_into_training_only_when_configured") {
    LearnerDriver a(small_learner());
    a.observe_clusters(0, 3);
    (void)a.train(50);
    const std::string checkpoint = a.state();
    for (int replay : {0, 1}) {
        CAPTURE(replay);
        LearnerDriver b(small_learner("\"replay\": " + std::to_string(replay)));
        b.load(checkpoint);
        b.observe_clusters(3, 5);
        nlohmann::json metrics = b.train(50);
        CHECK(metrics["memory_pairs"].get<size_t>() > 0);
        CHECK((metrics["replayed_pairs"].get<size_t>() > 0) == (replay == 1));
        CHECK(metrics["ewc_lambda"] == 0.0);
    }
    LearnerDriver fresh(small_learner());
    fresh.observe_clusters(0, 3);
    nlohmann::json metrics = fresh.train(20);
    CHECK_MESSAGE(metrics["replayed_pairs"] == 0, "an instance that continued from no checkpoint has nothing to replay");
}

TEST_CASE("ewc_anchors_only_an_instance_that_continued_from_a_checkpoint_with_memory") {
    LearnerDriver a(small_learner());
    a.observe_clusters(0, 3);
    (void)a.train(50);
    LearnerDriver b(small_learner("\"ewc_lambda\": 100"));
    b.load(a.state());
    b.observe_clusters(3, 5);
    nlohmann::json first = b.train(200), second = b.train(50);
    CHECK(first["ewc_fisher_batches"].get<uint64_t>() > 0);
    CHECK(second["ewc_lambda"] == 100.0);
    CHECK(second["ewc_penalty"].get<double>() > 0);
    CHECK_MESSAGE(!second.contains("ewc_fisher_batches"), "the Fisher is measured once, at the first train() after a load");

    LearnerDriver unanchored(small_learner("\"ewc_lambda\": 100"));
    unanchored.observe_clusters(3, 5);
    nlohmann::json metrics = unanchored.train(50);
    CHECK_MESSAGE(metrics["ewc_lambda"] == 0.0, "no checkpoint, no anchor: the effective lambda is 0");
}

TEST_CASE("ewc_keeps_the_weights_the_old_task_uses_closer_to_the_checkpoint_than_naive_fine_tuning") {
    Corpus corpus(small_config().buckets);
    const encoder::Clusters old_clusters(corpus.clusters.begin(), corpus.clusters.begin() + 3),
        new_clusters(corpus.clusters.begin() + 3, corpus.clusters.end());
    const Features *first_new = new_clusters.front().front(); // corpus.features holds the old texts first
    std::vector<encoder::Pair> old_pairs, new_pairs;
    for (const auto &p : corpus.pairs) {
        if (p.a < first_new && p.b < first_new) old_pairs.push_back(p);
        if (p.a >= first_new && p.b >= first_new) new_pairs.push_back(p);
    }
    std::vector<int64_t> old_rows;
    for (const auto &cluster : old_clusters)
        for (const Features *f : cluster) old_rows.insert(old_rows.end(), f->begin(), f->end());
    std::sort(old_rows.begin(), old_rows.end());
    old_rows.erase(std::unique(old_rows.begin(), old_rows.end()), old_rows.end());

    encoder::Network first(small_config());
    std::mt19937_64 rng(7);
    (void)first.train(old_clusters, old_pairs, 60000, rng, 10);
    const std::string checkpoint = first.save();
    const encoder::InferenceWeights star = first.weights();
    // Over the dense layers and the embedding rows of the old texts: rows only the new texts use
    // are free to move (their Fisher is 0), and move more when the rest is held.
    auto old_task_distance = [&](const encoder::InferenceWeights &w) {
        double sum = squared_distance(w, star) - squared_distance(w.bag, star.bag);
        const size_t width = size_t(w.bag_dim);
        for (int64_t row : old_rows)
            for (size_t k = size_t(row) * width; k < size_t(row + 1) * width; ++k) sum += double(w.bag[k] - star.bag[k]) * double(w.bag[k] - star.bag[k]);
        return sum;
    };
    auto moved = [&](double lambda) {
        encoder::Network net(small_config());
        net.load(checkpoint);
        std::mt19937_64 fisher_rng(11);
        if (lambda > 0) REQUIRE(net.consolidate(old_clusters, old_pairs, lambda, 10, 60000, fisher_rng) == 10);
        CHECK(net.consolidation_lambda() == lambda);
        std::mt19937_64 train_rng(13); // the same batches with and without EWC
        encoder::TrainReport report = net.train(new_clusters, new_pairs, 60000, train_rng, 20);
        REQUIRE(report.steps == 20);
        CHECK((report.ewc_penalty > 0) == (lambda > 0));
        return old_task_distance(net.weights());
    };
    const double naive = moved(0), consolidated = moved(1e5);
    MESSAGE("squared distance from theta* of what the old task uses, after 20 steps: naive " << naive << ", EWC " << consolidated);
    CHECK(naive > 0);
    CHECK_MESSAGE(consolidated < 0.8 * naive, "EWC did not hold the weights near the checkpoint");
}

TEST_CASE("the_learner_refuses_continual_settings_out_of_range_naming_the_key") {
    auto refused = [](const std::string &config, const std::string &key) {
        CAPTURE(config);
        try {
            encoder::Learner learner(aicache::sdk::Config::parse(config));
            FAIL("accepted");
        } catch (const aicache::sdk::Error &e) {
            CHECK(std::string(e.what()).find(key) != std::string::npos);
        }
    };
    refused(R"({"replay": 2})", "replay");
    refused(R"({"ewc_lambda": -1})", "ewc_lambda");
    refused(R"({"memory": -3})", "memory");
    refused(R"({"memory": 100000000})", "memory");
    refused(R"({"restore_optimizer": 2})", "restore_optimizer");
    refused(R"({"train_steps": -5})", "train_steps");
    refused(R"({"layers": 0})", "layers");
    refused(R"({"layers": 5})", "layers");
    refused(R"({"activation": "sigmoid"})", "activation");
    refused(R"({"dropout": 0.95})", "dropout");
    CHECK_NOTHROW(encoder::Learner(aicache::sdk::Config::parse(R"({"buckets": 64, "replay": 0, "ewc_lambda": 0.5, "memory": 0})")));
}

TEST_CASE("a_step_budget_trains_exactly_that_many_steps_whatever_the_time_budget") {
    LearnerDriver learner(small_learner("\"train_steps\": 100"));
    learner.observe_clusters(0, 5);
    uint64_t steps = 0, calls = 0;
    for (nlohmann::json m = learner.train(1); m["steps"].get<uint64_t>() > 0; m = learner.train(1)) {
        REQUIRE(++calls < 100);
        CHECK_MESSAGE(m["steps"].get<uint64_t>() <= encoder::Learner::steps_per_call, "a call under train_steps runs at most steps_per_call");
        steps += m["steps"].get<uint64_t>();
        CHECK(m["train_steps_left"].get<uint64_t>() == 100 - steps);
    }
    CHECK(steps == 100);
    CHECK_MESSAGE(calls == (100 + encoder::Learner::steps_per_call - 1) / encoder::Learner::steps_per_call,
                  "a 1 ms budget bounds nothing under train_steps: each call ran its full share");
    nlohmann::json spent = learner.train(1000);
    CHECK(spent["steps"] == 0);
    CHECK(spent["total_steps"] == 100);

    // The count starts again at a load: a continued instance trains its own train_steps.
    LearnerDriver next(small_learner("\"train_steps\": 30"));
    next.load(learner.state());
    uint64_t more = 0;
    for (nlohmann::json m = next.train(1); m["steps"].get<uint64_t>() > 0; m = next.train(1)) more += m["steps"].get<uint64_t>();
    CHECK(more == 30);
    CHECK(next.train(1)["total_steps"] == 130);
}

TEST_CASE("under_a_step_budget_a_seeded_run_is_the_same_whatever_the_clock_says") {
    auto trained = [](uint64_t budget_ms, const std::string &seed) {
        LearnerDriver a(small_learner("\"train_steps\": 60, \"seed\": " + seed));
        a.observe_clusters(0, 3);
        while (a.train(budget_ms)["steps"].get<uint64_t>() > 0) {
        }
        // Continued with EWC, whose Fisher takes a fixed number of batches under train_steps.
        LearnerDriver b(small_learner("\"train_steps\": 50, \"ewc_lambda\": 1000, \"seed\": " + seed));
        b.load(a.state());
        b.observe_clusters(3, 5);
        nlohmann::json first = b.train(budget_ms);
        CHECK(first["ewc_fisher_batches"] == 50);
        while (b.train(budget_ms)["steps"].get<uint64_t>() > 0) {
        }
        Corpus corpus(4096);
        return b.learner.network().match(corpus.pairs);
    };
    const std::vector<float> once = trained(1, "5");
    CHECK_MESSAGE(once == trained(2000, "5"), "the same seed and steps gave another network");
    CHECK_MESSAGE(once != trained(1, "6"), "another seed gave the same network");
}

TEST_CASE("the_optimizers_state_survives_a_save_and_load") {
    Corpus corpus(small_config().buckets);
    encoder::Network first(small_config());
    std::mt19937_64 rng(7);
    (void)first.train(corpus.clusters, corpus.pairs, 60000, rng, 15);
    const std::string weights = first.save(), optimizer = first.save_optimizer();
    auto continued = [&](encoder::Network &net) {
        std::mt19937_64 same(9);
        REQUIRE(net.train(corpus.clusters, corpus.pairs, 60000, same, 10).steps == 10);
        return net.weights();
    };
    encoder::Network restored(small_config()), restarted(small_config());
    restored.load(weights);
    restored.load_optimizer(optimizer);
    restarted.load(weights);
    const encoder::InferenceWeights uninterrupted = continued(first), with_state = continued(restored), without = continued(restarted);
    const double off = squared_distance(with_state, uninterrupted), restart_off = squared_distance(without, uninterrupted);
    MESSAGE("squared distance from uninterrupted training after 10 more steps: optimizer restored " << off << ", restarted " << restart_off);
    CHECK_MESSAGE(off <= 1e-10, "training continued from a saved optimizer differs from training that never stopped");
    CHECK_MESSAGE(restart_off > 1e-6, "restarting the optimizers changed nothing: the test would pass vacuously");

    encoder::NetworkConfig wider = small_config();
    wider.bag_dim = 32;
    encoder::Network other(wider);
    CHECK_THROWS_AS(other.load_optimizer(optimizer), std::invalid_argument);
    CHECK_THROWS_AS(restored.load_optimizer("not an archive"), std::invalid_argument);
}

TEST_CASE("an_encoder_3_checkpoint_carries_the_optimizers_and_an_encoder_2_state_still_loads") {
    LearnerDriver first(small_learner("\"train_steps\": 40"));
    first.observe_clusters(0, 5);
    while (first.train(1)["steps"].get<uint64_t>() > 0) {
    }
    const std::string state = first.state();
    // encoder/2: everything before the optimizers' state.
    aicache::sdk::StateReader reader({state.data(), state.size()});
    (void)reader.u64(), (void)reader.u64(), (void)reader.u64(), (void)reader.text();
    (void)encoder::Memory::read(reader, 4096, 3);
    const std::string encoder_2 = state.substr(0, state.size() - reader.remaining());
    REQUIRE_MESSAGE(reader.remaining() > 1000, "encoder/3 writes the optimizers' state after the memory");

    Corpus corpus(4096);
    auto after_more = [&](const std::string &checkpoint, const std::string &more) {
        LearnerDriver next(small_learner("\"train_steps\": 20" + more));
        next.load(checkpoint);
        next.observe_clusters(3, 5);
        while (next.train(1)["steps"].get<uint64_t>() > 0) {
        }
        return next.learner.network().match(corpus.pairs);
    };
    const std::vector<float> restored = after_more(state, ""), from_2 = after_more(encoder_2, ""),
                             restarted = after_more(state, ", \"restore_optimizer\": 0");
    CHECK_MESSAGE(from_2 == restarted, "an encoder/2 state loads, with the optimizers restarted");
    CHECK_MESSAGE(restored != restarted, "the optimizers' state made no difference: was it loaded?");

    std::string damaged = encoder_2;
    aicache_writer writer = writer_into(damaged);
    {
        aicache::sdk::StateWriter w(&writer);
        w.text("not an optimizer archive");
    }
    LearnerDriver refuses(small_learner());
    CHECK_THROWS_AS(refuses.load(damaged), aicache::sdk::Error);
    LearnerDriver fresh(small_learner());
    CHECK_MESSAGE(refuses.learner.network().match(corpus.pairs) == fresh.learner.network().match(corpus.pairs),
                  "a refused load leaves the instance at its seeded start");
}
