// The only translation unit of the encoder that includes LibTorch.
#include "network.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <stdexcept>

namespace encoder {
namespace {

struct Model : torch::nn::Module {
    explicit Model(const NetworkConfig &c)
        : bag(register_module("bag", torch::nn::EmbeddingBag(
                                         torch::nn::EmbeddingBagOptions(int64_t(c.buckets), c.bag_dim).mode(torch::kMean).sparse(true)))),
          fc1(register_module("fc1", torch::nn::Linear(c.bag_dim, c.hidden))),
          fc2(register_module("fc2", torch::nn::Linear(c.hidden, c.dim))),
          skip(register_module("skip", torch::nn::Linear(c.bag_dim, c.dim))),
          rel1(register_module("rel1", torch::nn::Linear(4 * c.dim, c.relation_hidden))),
          rel2(register_module("rel2", torch::nn::Linear(c.relation_hidden, 1))) {
        // Zero biases in the encoder: a random bias is a direction every embedding shares, which
        // would make even unrelated texts look alike before (and early in) training.
        torch::NoGradGuard no_grad;
        for (auto *layer : {&fc1, &fc2, &skip}) (*layer)->bias.zero_();
    }

    torch::Tensor encode(const torch::Tensor &ids, const torch::Tensor &offsets) {
        torch::Tensor x = bag->forward(ids, offsets);
        torch::Tensor y = fc2->forward(torch::relu(fc1->forward(x))) + skip->forward(x);
        return torch::nn::functional::normalize(y, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-8));
    }
    torch::Tensor relate(const torch::Tensor &u, const torch::Tensor &v) { // logits
        torch::Tensor joint = torch::cat({u, v, torch::abs(u - v), u * v}, 1);
        return rel2->forward(torch::relu(rel1->forward(joint))).squeeze(1);
    }

    torch::nn::EmbeddingBag bag;
    torch::nn::Linear fc1, fc2, skip, rel1, rel2;
};

// Concatenated ids and the offset of each text, as EmbeddingBag takes them.
std::pair<torch::Tensor, torch::Tensor> batch_of(const std::vector<const Features *> &texts) {
    std::vector<int64_t> ids, offsets;
    offsets.reserve(texts.size());
    for (const Features *f : texts) {
        offsets.push_back(static_cast<int64_t>(ids.size()));
        ids.insert(ids.end(), f->begin(), f->end());
    }
    return {torch::tensor(ids, torch::kLong), torch::tensor(offsets, torch::kLong)};
}

} // namespace

struct Network::Impl {
    NetworkConfig config;
    std::shared_ptr<Model> model;
    // Dense layers learn with Adam. The embedding table (buckets x bag_dim, most of the weights)
    // gets sparse gradients and a row-wise Adagrad update of only the rows a batch touched: a dense
    // update of the whole table every step would cost more than the rest of the step together.
    std::unique_ptr<torch::optim::Adam> optimizer;
    torch::Tensor embedding_square_sum;

    explicit Impl(const NetworkConfig &c) : config(c) {
        torch::manual_seed(c.seed);
        model = std::make_shared<Model>(c);
        reset_optimizer();
    }
    void reset_optimizer() {
        std::vector<torch::Tensor> dense;
        for (const auto &p : model->named_parameters())
            if (p.key() != "bag.weight") dense.push_back(p.value());
        optimizer = std::make_unique<torch::optim::Adam>(dense, torch::optim::AdamOptions(config.learning_rate));
        embedding_square_sum = torch::zeros_like(model->bag->weight);
    }
    void step() {
        optimizer->step();
        torch::Tensor &weight = model->bag->weight;
        torch::Tensor grad = weight.grad();
        if (!grad.defined()) return;
        torch::NoGradGuard no_grad;
        grad = grad.coalesce();
        torch::Tensor rows = grad.indices()[0];
        torch::Tensor values = grad.values();
        embedding_square_sum.index_add_(0, rows, values * values);
        torch::Tensor scale = embedding_square_sum.index_select(0, rows).sqrt_().add_(1e-10);
        weight.index_add_(0, rows, values / scale * -kEmbeddingLearningRate);
        weight.mutable_grad() = torch::Tensor();
    }
    static constexpr double kEmbeddingLearningRate = 0.1;
    torch::Tensor encode(const std::vector<const Features *> &texts) {
        auto [ids, offsets] = batch_of(texts);
        return model->encode(ids, offsets);
    }

    // What embed, match and relate run on. A snapshot rather than views of the tensors: training
    // updates them in place and load() replaces their storage.
    std::unique_ptr<const Inference> serving;
    void refresh_serving(const Network &network) { serving = std::make_unique<const Inference>(network.weights()); }
};

namespace {

std::vector<float> copy_of(const torch::Tensor &t) {
    torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

LinearWeights copy_of(const torch::nn::Linear &layer) {
    return {layer->weight.size(1), layer->weight.size(0), copy_of(layer->weight), copy_of(layer->bias)};
}

} // namespace

Network::Network(const NetworkConfig &config) {
    // One intra-op thread: the host serves on the other core, and small MLPs gain nothing from more.
    at::set_num_threads(1);
    impl_ = std::make_unique<Impl>(config);
    impl_->refresh_serving(*this);
}

Network::~Network() = default;

int64_t Network::dim() const { return impl_->config.dim; }

std::vector<float> Network::embed(const std::vector<const Features *> &texts) const {
    std::vector<float> out(texts.size() * size_t(impl_->config.dim));
    impl_->serving->embed(texts, out.data());
    return out;
}

std::vector<float> Network::match(const std::vector<Pair> &pairs) const {
    std::vector<const Features *> a, b;
    for (const Pair &p : pairs) {
        a.push_back(p.a);
        b.push_back(p.b);
    }
    std::vector<float> scores(pairs.size());
    impl_->serving->match(a, b, scores.data());
    return scores;
}

std::vector<float> Network::relate(const float *query, const std::vector<const float *> &candidates) const {
    std::vector<float> scores(candidates.size());
    impl_->serving->relate(query, candidates, scores.data());
    return scores;
}

InferenceWeights Network::weights() const {
    const Model &m = *impl_->model;
    InferenceWeights w;
    w.buckets = m.bag->weight.size(0);
    w.bag_dim = m.bag->weight.size(1);
    w.bag = copy_of(m.bag->weight);
    w.fc1 = copy_of(m.fc1);
    w.fc2 = copy_of(m.fc2);
    w.skip = copy_of(m.skip);
    w.rel1 = copy_of(m.rel1);
    w.rel2 = copy_of(m.rel2);
    return w;
}

std::vector<float> Network::embed_with_torch(const std::vector<const Features *> &texts) const {
    if (texts.empty()) return {};
    torch::NoGradGuard no_grad;
    impl_->model->eval();
    torch::Tensor out = impl_->encode(texts).contiguous();
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

std::vector<float> Network::match_with_torch(const std::vector<Pair> &pairs) const {
    if (pairs.empty()) return {};
    torch::NoGradGuard no_grad;
    impl_->model->eval();
    std::vector<const Features *> a, b;
    for (const Pair &p : pairs) {
        a.push_back(p.a);
        b.push_back(p.b);
    }
    torch::Tensor scores = torch::sigmoid(impl_->model->relate(impl_->encode(a), impl_->encode(b))).contiguous();
    return std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
}

TrainReport Network::train(const std::vector<std::vector<const Features *>> &clusters, const std::vector<Pair> &pairs, uint64_t budget_ms,
                           std::mt19937_64 &rng) {
    TrainReport report;
    if (clusters.size() < 2 && pairs.empty()) return report;
    impl_->model->train();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    const size_t batch = static_cast<size_t>(impl_->config.batch);
    std::vector<double> proto_losses, relation_losses;
    std::vector<size_t> cluster_order(clusters.size());
    for (size_t i = 0; i < cluster_order.size(); ++i) cluster_order[i] = i;
    size_t cluster_cursor = cluster_order.size();
    std::uniform_int_distribution<size_t> any_pair(0, pairs.empty() ? 0 : pairs.size() - 1);

    while (std::chrono::steady_clock::now() < deadline) {
        torch::Tensor loss = torch::zeros({});
        if (clusters.size() >= 2) {
            // Prototypical loss (Snell et al., 2017): one query per cluster against every cluster's
            // prototype (the mean embedding of its other members) in the batch.
            std::vector<const Features *> queries, support;
            std::vector<int64_t> support_owner;
            size_t n = std::min(batch, clusters.size());
            for (size_t k = 0; k < n; ++k) {
                if (cluster_cursor >= cluster_order.size()) {
                    std::shuffle(cluster_order.begin(), cluster_order.end(), rng);
                    cluster_cursor = 0;
                }
                const auto &members = clusters[cluster_order[cluster_cursor++]];
                size_t q = std::uniform_int_distribution<size_t>(0, members.size() - 1)(rng);
                queries.push_back(members[q]);
                for (size_t m = 0, taken = 0; m < members.size() && taken < 4; ++m)
                    if (m != q) {
                        support.push_back(members[m]);
                        support_owner.push_back(int64_t(k));
                        ++taken;
                    }
            }
            torch::Tensor q = impl_->encode(queries);
            torch::Tensor s = impl_->encode(support);
            torch::Tensor owner = torch::tensor(support_owner, torch::kLong);
            torch::Tensor prototypes = torch::zeros({int64_t(n), s.size(1)}).index_add_(0, owner, s);
            prototypes = torch::nn::functional::normalize(prototypes, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-8));
            torch::Tensor logits = torch::matmul(q, prototypes.t()) / impl_->config.temperature;
            torch::Tensor proto = torch::nn::functional::cross_entropy(logits, torch::arange(int64_t(n), torch::kLong));
            proto_losses.push_back(proto.item<double>());
            loss = loss + proto;
        }
        if (!pairs.empty()) {
            std::vector<const Features *> a, b;
            std::vector<float> labels;
            for (size_t k = 0; k < batch; ++k) {
                const Pair &p = pairs[any_pair(rng)];
                a.push_back(p.a);
                b.push_back(p.b);
                labels.push_back(p.label);
            }
            torch::Tensor logits = impl_->model->relate(impl_->encode(a), impl_->encode(b));
            torch::Tensor relation = torch::nn::functional::binary_cross_entropy_with_logits(logits, torch::tensor(labels));
            relation_losses.push_back(relation.item<double>());
            loss = loss + relation;
        }
        impl_->optimizer->zero_grad();
        loss.backward();
        impl_->step();
        ++report.steps;
    }
    auto tail_mean = [](const std::vector<double> &v) {
        size_t from = v.size() > 50 ? v.size() - 50 : 0;
        double sum = 0;
        for (size_t i = from; i < v.size(); ++i) sum += v[i];
        return v.size() > from ? sum / double(v.size() - from) : 0.0;
    };
    report.prototype_loss = tail_mean(proto_losses);
    report.relation_loss = tail_mean(relation_losses);
    if (report.steps > 0) impl_->refresh_serving(*this);
    return report;
}

std::string Network::save() const {
    std::ostringstream out;
    torch::serialize::OutputArchive archive;
    impl_->model->save(archive);
    archive.save_to(out);
    return out.str();
}

void Network::load(std::string_view bytes) {
    std::istringstream in{std::string(bytes)};
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(in);
        impl_->model->load(archive);
    } catch (const c10::Error &e) {
        throw std::invalid_argument(std::string("not a checkpoint of this network: ") + e.what_without_backtrace());
    }
    impl_->reset_optimizer();
    impl_->refresh_serving(*this);
}

} // namespace encoder
