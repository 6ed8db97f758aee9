// The encoder's serving kernels (plugins/learners/encoder/inference.cpp) against the LibTorch
// model they copy, and the base64 float vectors of the relate request (sdk/vectors.hpp).
// A separate executable: it links LibTorch, which the other test executables must not.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "features.hpp"
#include "network.hpp"

#include <aicache/sdk/vectors.hpp>

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
