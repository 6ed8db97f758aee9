// The only translation unit of the encoder that includes LibTorch.
#include "network.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <optional>
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
          rel2(register_module("rel2", torch::nn::Linear(c.relation_hidden, 1))), activation(c.activation), dropout(c.dropout) {
        // Hidden layers past the first are named hidden2, hidden3, ...: a one-layer network keeps
        // the names (and so the checkpoints) it always had.
        for (int64_t l = 2; l <= c.layers; ++l)
            deeper.push_back(register_module("hidden" + std::to_string(l), torch::nn::Linear(c.hidden, c.hidden)));
        // Zero biases in the encoder: a random bias is a direction every embedding shares, which
        // would make even unrelated texts look alike before (and early in) training.
        torch::NoGradGuard no_grad;
        for (auto *layer : {&fc1, &fc2, &skip}) (*layer)->bias.zero_();
        for (auto &layer : deeper) layer->bias.zero_();
    }

    torch::Tensor hidden_activation(const torch::Tensor &x) {
        torch::Tensor y = activation == Activation::relu ? torch::relu(x) : activation == Activation::gelu ? torch::gelu(x) : torch::tanh(x);
        return dropout > 0 ? torch::dropout(y, dropout, is_training()) : y;
    }
    torch::Tensor encode(const torch::Tensor &ids, const torch::Tensor &offsets) {
        torch::Tensor x = bag->forward(ids, offsets);
        torch::Tensor h = hidden_activation(fc1->forward(x));
        for (auto &layer : deeper) h = hidden_activation(layer->forward(h));
        torch::Tensor y = fc2->forward(h) + skip->forward(x);
        return torch::nn::functional::normalize(y, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-8));
    }
    torch::Tensor relate(const torch::Tensor &u, const torch::Tensor &v) { // logits
        torch::Tensor joint = torch::cat({u, v, torch::abs(u - v), u * v}, 1);
        return rel2->forward(torch::relu(rel1->forward(joint))).squeeze(1);
    }

    torch::nn::EmbeddingBag bag;
    torch::nn::Linear fc1, fc2, skip, rel1, rel2;
    std::vector<torch::nn::Linear> deeper;
    Activation activation;
    double dropout;
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

// Draws training batches: clusters in shuffled passes (each cluster once per pass), pairs uniformly.
class Batches {
public:
    Batches(const Clusters &clusters, const std::vector<Pair> &pairs, size_t batch)
        : clusters_(clusters), pairs_(pairs), batch_(batch), order_(clusters.size()), cursor_(clusters.size()),
          any_pair_(0, pairs.empty() ? 0 : pairs.size() - 1) {
        for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    }
    [[nodiscard]] bool has_clusters() const { return clusters_.size() >= 2; }
    [[nodiscard]] bool has_pairs() const { return !pairs_.empty(); }
    [[nodiscard]] bool empty() const { return !has_clusters() && !has_pairs(); }

    const std::vector<const Features *> &next_cluster(std::mt19937_64 &rng) {
        if (cursor_ >= order_.size()) {
            std::shuffle(order_.begin(), order_.end(), rng);
            cursor_ = 0;
        }
        return clusters_[order_[cursor_++]];
    }
    const Pair &next_pair(std::mt19937_64 &rng) { return pairs_[any_pair_(rng)]; }
    [[nodiscard]] size_t cluster_batch() const { return std::min(batch_, clusters_.size()); }
    [[nodiscard]] size_t pair_batch() const { return batch_; }

private:
    const Clusters &clusters_;
    const std::vector<Pair> &pairs_;
    size_t batch_;
    std::vector<size_t> order_;
    size_t cursor_;
    std::uniform_int_distribution<size_t> any_pair_;
};

// The loss of one batch, and its two parts (negative when the batch had no such part).
struct BatchLoss {
    torch::Tensor total;
    double prototype = -1, relation = -1;
};

// The consolidation anchor of EWC: theta* and the diagonal Fisher at it. The table's are dense,
// buckets x 2 x bag_dim (theta* and F side by side: one gather per row), but a step reads only
// the rows it touches.
struct Anchor {
    double lambda = 0;
    std::vector<torch::Tensor> dense_star, dense_fisher; // in Impl::dense's order
    torch::Tensor table;
};

} // namespace

struct Network::Impl {
    NetworkConfig config;
    std::shared_ptr<Model> model;
    // Dense layers learn with Adam. The embedding table (buckets x bag_dim, most of the weights)
    // gets sparse gradients and a row-wise Adagrad update of only the rows a batch touched: a dense
    // update of the whole table every step would cost more than the rest of the step together.
    std::vector<torch::Tensor> dense;
    std::unique_ptr<torch::optim::Adam> optimizer;
    torch::Tensor embedding_square_sum;
    std::optional<Anchor> anchor;

    explicit Impl(const NetworkConfig &c) : config(c) {
        torch::manual_seed(c.seed);
        model = std::make_shared<Model>(c);
        reset_optimizer();
    }
    void reset_optimizer() {
        dense.clear();
        for (const auto &p : model->named_parameters())
            if (p.key() != "bag.weight") dense.push_back(p.value());
        optimizer = std::make_unique<torch::optim::Adam>(dense, torch::optim::AdamOptions(config.learning_rate));
        embedding_square_sum = torch::zeros_like(model->bag->weight);
    }
    void clear_gradients() {
        optimizer->zero_grad();
        model->bag->weight.mutable_grad() = torch::Tensor();
    }
    // Updates the weights from their gradients, with EWC's pull towards the anchor added to them.
    // Returns the EWC penalty at the weights before the update (0 without an anchor).
    double step() {
        torch::NoGradGuard no_grad;
        double penalty = 0;
        if (anchor)
            for (size_t i = 0; i < dense.size(); ++i) penalty += pull(dense[i], anchor->dense_star[i], anchor->dense_fisher[i]);
        optimizer->step();
        torch::Tensor &weight = model->bag->weight;
        torch::Tensor grad = weight.grad();
        if (grad.defined()) {
            grad = grad.coalesce();
            torch::Tensor rows = grad.indices()[0];
            torch::Tensor values = grad.values();
            if (anchor) {
                torch::Tensor anchored = anchor->table.index_select(0, rows); // rows x 2 x bag_dim
                torch::Tensor away = weight.index_select(0, rows).sub_(anchored.select(1, 0));
                torch::Tensor pulled = away * anchored.select(1, 1);
                penalty += torch::dot(pulled.view(-1), away.view(-1)).item<double>();
                values.add_(pulled, anchor->lambda);
            }
            embedding_square_sum.index_add_(0, rows, values * values);
            torch::Tensor scale = embedding_square_sum.index_select(0, rows).sqrt_().add_(1e-10);
            weight.index_add_(0, rows, values / scale * -kEmbeddingLearningRate);
            weight.mutable_grad() = torch::Tensor();
        }
        return anchor ? anchor->lambda / 2 * penalty : 0.0;
    }
    // Adds lambda * F * (theta - theta*) to theta's gradient; returns sum F (theta - theta*)^2.
    double pull(torch::Tensor &theta, const torch::Tensor &star, const torch::Tensor &fisher) {
        torch::Tensor away = theta - star;
        torch::Tensor pulled = away * fisher;
        double penalty = torch::dot(pulled.view(-1), away.view(-1)).item<double>();
        if (theta.grad().defined())
            theta.mutable_grad().add_(pulled, anchor->lambda);
        else
            theta.mutable_grad() = pulled * anchor->lambda;
        return penalty;
    }
    static constexpr double kEmbeddingLearningRate = 0.1;
    torch::Tensor encode(const std::vector<const Features *> &texts) {
        auto [ids, offsets] = batch_of(texts);
        return model->encode(ids, offsets);
    }
    BatchLoss loss(Batches &batches, std::mt19937_64 &rng);

    // What embed, match and relate run on: the dense layers copied (and packed), the embedding
    // table read in place. Training updates it in place and load() replaces its storage, so this
    // is refreshed after both; the host never serves and trains one instance at once (the ABI's
    // one caller at a time), so nothing reads the table while a step writes it.
    std::unique_ptr<const Inference> serving;
    void refresh_serving() {
        InferenceWeights w = dense_weights();
        torch::Tensor &table = model->bag->weight;
        if (!table.is_contiguous() || table.scalar_type() != torch::kFloat) throw std::logic_error("encoder: embedding table not contiguous float32");
        w.bag_view = table.data_ptr<float>();
        serving = std::make_unique<const Inference>(std::move(w));
    }
    InferenceWeights dense_weights() const; // everything but the embedding table's values
};

BatchLoss Network::Impl::loss(Batches &batches, std::mt19937_64 &rng) {
    BatchLoss out{torch::zeros({})};
    if (batches.has_clusters()) {
        // Prototypical loss (Snell et al., 2017): one query per cluster against every cluster's
        // prototype (the mean embedding of its other members) in the batch.
        std::vector<const Features *> queries, support;
        std::vector<int64_t> support_owner;
        const size_t n = batches.cluster_batch();
        for (size_t k = 0; k < n; ++k) {
            const auto &members = batches.next_cluster(rng);
            size_t q = std::uniform_int_distribution<size_t>(0, members.size() - 1)(rng);
            queries.push_back(members[q]);
            for (size_t m = 0, taken = 0; m < members.size() && taken < 4; ++m)
                if (m != q) {
                    support.push_back(members[m]);
                    support_owner.push_back(int64_t(k));
                    ++taken;
                }
        }
        torch::Tensor q = encode(queries);
        torch::Tensor s = encode(support);
        torch::Tensor owner = torch::tensor(support_owner, torch::kLong);
        torch::Tensor prototypes = torch::zeros({int64_t(n), s.size(1)}).index_add_(0, owner, s);
        prototypes = torch::nn::functional::normalize(prototypes, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-8));
        torch::Tensor logits = torch::matmul(q, prototypes.t()) / config.temperature;
        torch::Tensor proto = torch::nn::functional::cross_entropy(logits, torch::arange(int64_t(n), torch::kLong));
        out.prototype = proto.item<double>();
        out.total = out.total + proto;
    }
    if (batches.has_pairs()) {
        std::vector<const Features *> a, b;
        std::vector<float> labels;
        for (size_t k = 0; k < batches.pair_batch(); ++k) {
            const Pair &p = batches.next_pair(rng);
            a.push_back(p.a);
            b.push_back(p.b);
            labels.push_back(p.label);
        }
        torch::Tensor logits = model->relate(encode(a), encode(b));
        torch::Tensor relation = torch::nn::functional::binary_cross_entropy_with_logits(logits, torch::tensor(labels));
        out.relation = relation.item<double>();
        out.total = out.total + relation;
    }
    return out;
}

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
    impl_->refresh_serving();
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
    InferenceWeights w = impl_->dense_weights();
    w.bag = copy_of(impl_->model->bag->weight);
    return w;
}

InferenceWeights Network::Impl::dense_weights() const {
    const Model &m = *model;
    InferenceWeights w;
    w.buckets = m.bag->weight.size(0);
    w.bag_dim = m.bag->weight.size(1);
    w.fc1 = copy_of(m.fc1);
    for (const auto &layer : m.deeper) w.deeper.push_back(copy_of(layer));
    w.activation = m.activation;
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

namespace {

double tail_mean(const std::vector<double> &v) {
    size_t from = v.size() > 50 ? v.size() - 50 : 0;
    double sum = 0;
    for (size_t i = from; i < v.size(); ++i) sum += v[i];
    return v.size() > from ? sum / double(v.size() - from) : 0.0;
}

} // namespace

TrainReport Network::train(const Clusters &clusters, const std::vector<Pair> &pairs, uint64_t budget_ms, std::mt19937_64 &rng,
                           uint64_t max_steps) {
    return train({TrainingSet{&clusters, &pairs}}, budget_ms, rng, max_steps);
}

TrainReport Network::train(const std::vector<TrainingSet> &sets, uint64_t budget_ms, std::mt19937_64 &rng, uint64_t max_steps) {
    TrainReport report;
    std::vector<Batches> sources;
    std::vector<double> sizes;
    sources.reserve(sets.size());
    for (const TrainingSet &set : sets) {
        Batches batches(*set.clusters, *set.pairs, size_t(impl_->config.batch));
        if (batches.empty()) continue;
        sources.push_back(std::move(batches));
        sizes.push_back(double(set.clusters->size() + set.pairs->size()));
    }
    if (sources.empty()) return report;
    std::discrete_distribution<size_t> any_source(sizes.begin(), sizes.end());
    impl_->model->train();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    std::vector<double> proto_losses, relation_losses, penalties;
    while (report.steps < max_steps && std::chrono::steady_clock::now() < deadline) {
        BatchLoss loss = impl_->loss(sources.size() == 1 ? sources.front() : sources[any_source(rng)], rng);
        if (loss.prototype >= 0) proto_losses.push_back(loss.prototype);
        if (loss.relation >= 0) relation_losses.push_back(loss.relation);
        impl_->clear_gradients();
        loss.total.backward();
        penalties.push_back(impl_->step());
        ++report.steps;
    }
    report.prototype_loss = tail_mean(proto_losses);
    report.relation_loss = tail_mean(relation_losses);
    report.ewc_penalty = tail_mean(penalties);
    if (report.steps > 0) impl_->refresh_serving();
    return report;
}

uint64_t Network::consolidate(const Clusters &clusters, const std::vector<Pair> &pairs, double lambda, uint64_t max_batches, uint64_t budget_ms,
                              std::mt19937_64 &rng) {
    impl_->anchor.reset();
    Batches batches(clusters, pairs, size_t(impl_->config.batch));
    if (batches.empty() || max_batches == 0 || !(lambda > 0)) return 0;
    Impl &m = *impl_;
    m.model->train();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(budget_ms);
    Anchor anchor;
    anchor.lambda = lambda;
    for (const torch::Tensor &p : m.dense) anchor.dense_fisher.push_back(torch::zeros_like(p));
    torch::Tensor table_fisher = torch::zeros_like(m.model->bag->weight);
    uint64_t used = 0;
    while (used < max_batches && (used == 0 || std::chrono::steady_clock::now() < deadline)) {
        m.clear_gradients();
        m.loss(batches, rng).total.backward();
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < m.dense.size(); ++i)
            if (m.dense[i].grad().defined()) anchor.dense_fisher[i].addcmul_(m.dense[i].grad(), m.dense[i].grad());
        if (torch::Tensor g = m.model->bag->weight.grad(); g.defined()) {
            g = g.coalesce();
            table_fisher.index_add_(0, g.indices()[0], g.values() * g.values());
        }
        ++used;
    }
    m.clear_gradients();
    // Squares of batch-mean gradients, times the batch size: where the mean gradient vanishes (at
    // a minimum, where theta* should be) that is the mean squared per-example gradient, the
    // empirical Fisher, without a backward pass per example.
    const double scale = double(m.config.batch) / double(used);
    torch::NoGradGuard no_grad;
    for (torch::Tensor &f : anchor.dense_fisher) f.mul_(scale);
    for (const torch::Tensor &p : m.dense) anchor.dense_star.push_back(p.detach().clone());
    anchor.table = torch::stack({m.model->bag->weight.detach(), table_fisher.mul_(scale)}, 1);
    m.anchor = std::move(anchor);
    return used;
}

double Network::consolidation_lambda() const { return impl_->anchor ? impl_->anchor->lambda : 0.0; }

std::string Network::save() const {
    std::ostringstream out;
    torch::serialize::OutputArchive archive;
    impl_->model->save(archive);
    // Module::load ignores what the archive has beyond the module's own parameters: a deeper
    // network's checkpoint would load into a shallower one, its extra layers dropped. The depth is
    // written beside them so that load() can refuse it.
    archive.write("layers", torch::tensor(impl_->config.layers, torch::kLong));
    archive.save_to(out);
    return out.str();
}

void Network::load(std::string_view bytes) {
    std::istringstream in{std::string(bytes)};
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(in);
        torch::Tensor layers;
        const int64_t saved_layers = archive.try_read("layers", layers) ? layers.item<int64_t>() : 1; // older checkpoints: one layer
        if (saved_layers != impl_->config.layers)
            throw std::invalid_argument("the checkpoint's encoder has " + std::to_string(saved_layers) + " hidden layers, this one " +
                                        std::to_string(impl_->config.layers));
        impl_->model->load(archive);
    } catch (const c10::Error &e) {
        throw std::invalid_argument(std::string("not a checkpoint of this network: ") + e.what_without_backtrace());
    }
    impl_->reset_optimizer();
    impl_->anchor.reset(); // anchored to weights that are gone
    impl_->refresh_serving();
}

std::string Network::save_optimizer() const {
    torch::NoGradGuard no_grad;
    torch::serialize::OutputArchive archive, adam;
    impl_->optimizer->save(adam);
    archive.write("adam", adam);
    // Most of the table's rows are touched by a large training set, but a small one leaves most at
    // zero: only the rows with a sum are kept.
    const torch::Tensor &sums = impl_->embedding_square_sum;
    torch::Tensor rows = sums.ne(0).any(1).nonzero().select(1, 0).contiguous();
    archive.write("adagrad_rows", rows);
    archive.write("adagrad_sums", sums.index_select(0, rows).contiguous());
    std::ostringstream out;
    archive.save_to(out);
    return out.str();
}

void Network::load_optimizer(std::string_view bytes) {
    std::istringstream in{std::string(bytes)};
    torch::serialize::InputArchive archive, adam;
    torch::Tensor rows, sums;
    try {
        archive.load_from(in);
        archive.read("adam", adam);
        archive.read("adagrad_rows", rows);
        archive.read("adagrad_sums", sums);
    } catch (const c10::Error &e) {
        throw std::invalid_argument(std::string("not an optimizer state of this network: ") + e.what_without_backtrace());
    }
    torch::NoGradGuard no_grad;
    torch::Tensor &table_sums = impl_->embedding_square_sum;
    const int64_t buckets = table_sums.size(0), width = table_sums.size(1);
    if (rows.dim() != 1 || rows.scalar_type() != torch::kLong || sums.dim() != 2 || sums.size(0) != rows.size(0) || sums.size(1) != width ||
        sums.scalar_type() != torch::kFloat || (rows.numel() > 0 && (rows.min().item<int64_t>() < 0 || rows.max().item<int64_t>() >= buckets)))
        throw std::invalid_argument("the optimizer state's Adagrad sums do not fit this network's table (" + std::to_string(buckets) + " x " +
                                    std::to_string(width) + ")");
    // Into a fresh optimizer first: a state that does not fit must leave this one as it was.
    auto loaded = std::make_unique<torch::optim::Adam>(impl_->dense, torch::optim::AdamOptions(impl_->config.learning_rate));
    try {
        loaded->load(adam);
    } catch (const c10::Error &e) {
        throw std::invalid_argument(std::string("the optimizer state's Adam moments do not fit this network: ") + e.what_without_backtrace());
    }
    for (const auto &group : loaded->param_groups())
        for (const torch::Tensor &p : group.params())
            if (auto it = loaded->state().find(c10::guts::to_string(p.unsafeGetTensorImpl())); it != loaded->state().end()) {
                const auto &state = static_cast<const torch::optim::AdamParamState &>(*it->second);
                if (!state.exp_avg().sizes().equals(p.sizes()) || !state.exp_avg_sq().sizes().equals(p.sizes()))
                    throw std::invalid_argument("the optimizer state's Adam moments do not fit this network's layers");
            }
    // The moments continue; the step size is this instance's (a search may resume a checkpoint
    // with another learning rate), not the one saved with them.
    for (auto &group : loaded->param_groups()) static_cast<torch::optim::AdamOptions &>(group.options()).lr(impl_->config.learning_rate);
    impl_->optimizer = std::move(loaded);
    table_sums.zero_();
    table_sums.index_copy_(0, rows, sums);
}

} // namespace encoder
