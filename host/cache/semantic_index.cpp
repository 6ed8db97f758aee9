#include "cache/semantic_index.hpp"

#include "cache/dot_product.hpp"
#include "core/files.hpp"
#include "core/hash.hpp"

#include <hnswlib/hnswlib.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <unordered_set>

namespace aicache::cache {
namespace {

constexpr size_t kInitialCapacity = 64;
constexpr size_t kNeighbours = 16;         // M: graph degree
constexpr size_t kBuildBeam = 100;         // ef_construction
constexpr size_t kSearchBeam = 32;         // ef at query time (at least k): recall@1 1.0 on real embeddings (bench)
constexpr const char *kManifest = "manifest.json";

// hnswlib's inner-product space with the dot product chosen at run time (cache/dot_product.hpp).
// The distance is 1 - dot, as hnswlib's own InnerProductSpace defines it, so snapshots written
// with either read the same.
class UnitInnerProductSpace : public hnswlib::SpaceInterface<float> {
public:
    explicit UnitInnerProductSpace(size_t dim) : dim_(dim) {}
    size_t get_data_size() override { return dim_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
    void *get_dist_func_param() override { return &dim_; }

private:
    static float distance(const void *a, const void *b, const void *dim) {
        static const DotProduct dot = best_dot_product();
        return 1.0f - dot(static_cast<const float *>(a), static_cast<const float *>(b), *static_cast<const size_t *>(dim));
    }
    size_t dim_;
};

} // namespace

struct SemanticIndex::Scope {
    explicit Scope(size_t dim) : space(dim) {}
    UnitInnerProductSpace space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
    std::unordered_set<uint64_t> live;
    size_t deleted = 0; // slots hnswlib still holds for removed keys

    void create(size_t capacity) {
        graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, capacity, kNeighbours, kBuildBeam, 100);
        graph->setEf(kSearchBeam);
        deleted = 0;
    }
};

SemanticIndex::SemanticIndex(size_t dim) : dim_(dim), search_beam_(kSearchBeam) {}

void SemanticIndex::set_search_beam(size_t ef) {
    std::unique_lock lock(mutex_);
    search_beam_ = std::max<size_t>(1, ef);
    for (auto &[id, s] : scopes_) s->graph->setEf(search_beam_);
}
SemanticIndex::~SemanticIndex() = default;

SemanticIndex::Scope &SemanticIndex::scope_for(uint64_t scope) {
    auto &slot = scopes_[scope];
    if (!slot) {
        slot = std::make_unique<Scope>(dim_);
        slot->create(kInitialCapacity);
        slot->graph->setEf(search_beam_);
    }
    return *slot;
}

// Removed keys keep their slots in an HNSW graph: once they outnumber the live ones, the scope
// is rebuilt from its live vectors so searches do not wade through the dead.
void SemanticIndex::compact(Scope &s) {
    std::vector<std::pair<uint64_t, std::vector<float>>> keep;
    keep.reserve(s.live.size());
    for (uint64_t key : s.live) keep.emplace_back(key, s.graph->getDataByLabel<float>(key));
    s.create(std::max(kInitialCapacity, keep.size() * 2));
    s.graph->setEf(search_beam_);
    for (const auto &[key, v] : keep) s.graph->addPoint(v.data(), key);
}

Status SemanticIndex::add(uint64_t scope, uint64_t key, std::span<const float> vector) {
    if (vector.size() != dim_)
        return Status(Errc::invalid_argument, "semantic index: a vector of " + std::to_string(vector.size()) + " values, the index holds " +
                                                  std::to_string(dim_));
    std::unique_lock lock(mutex_);
    Scope &s = scope_for(scope);
    try {
        if (s.graph->cur_element_count >= s.graph->max_elements_) s.graph->resizeIndex(s.graph->max_elements_ * 2);
        s.graph->addPoint(vector.data(), key);
    } catch (const std::exception &e) {
        return Status(Errc::internal, std::string("semantic index: ") + e.what());
    }
    s.live.insert(key);
    return Status::ok();
}

void SemanticIndex::remove(uint64_t scope, uint64_t key) {
    std::unique_lock lock(mutex_);
    auto it = scopes_.find(scope);
    if (it == scopes_.end() || !it->second->live.erase(key)) return;
    Scope &s = *it->second;
    s.graph->markDelete(key);
    ++s.deleted;
    if (s.live.empty()) scopes_.erase(it);
    else if (s.deleted > std::max<size_t>(1024, s.live.size())) compact(s);
}

std::vector<Neighbour> SemanticIndex::search(uint64_t scope, std::span<const float> vector, size_t k, bool with_vectors) const {
    std::vector<Neighbour> out;
    if (vector.size() != dim_ || k == 0) return out;
    std::shared_lock lock(mutex_);
    auto it = scopes_.find(scope);
    if (it == scopes_.end()) return out;
    const Scope &s = *it->second;
    auto found = s.graph->searchKnn(vector.data(), std::min(k, s.live.size()));
    out.resize(found.size());
    for (size_t i = found.size(); i-- > 0; found.pop()) out[i] = {found.top().second, 1.0f - found.top().first, {}}; // farthest on top
    if (with_vectors)
        for (Neighbour &n : out) n.vector = s.graph->getDataByLabel<float>(n.key);
    return out;
}

size_t SemanticIndex::size() const {
    std::shared_lock lock(mutex_);
    size_t n = 0;
    for (const auto &[id, s] : scopes_) n += s->live.size();
    return n;
}

Status SemanticIndex::save(const std::filesystem::path &directory, const std::string &tag) const {
    std::shared_lock lock(mutex_);
    std::error_code ec;
    std::filesystem::path staging = directory.string() + ".new";
    std::filesystem::remove_all(staging, ec);
    std::filesystem::create_directories(staging, ec);
    if (ec) return Status(Errc::io, staging.string() + ": " + ec.message());
    nlohmann::json manifest = {{"format", "aicache-semantic-index/1"}, {"dim", dim_}, {"tag", tag}, {"scopes", nlohmann::json::array()}};
    for (const auto &[id, s] : scopes_) {
        std::string name = std::to_string(id) + ".hnsw";
        try {
            s->graph->saveIndex((staging / name).string());
        } catch (const std::exception &e) {
            return Status(Errc::io, (staging / name).string() + ": " + e.what());
        }
        auto bytes = read_file(staging / name);
        if (!bytes) return bytes.error();
        manifest["scopes"].push_back({{"scope", id}, {"file", name}, {"bytes", bytes->size()}, {"xxh3", hash64(*bytes, 0)},
                                      {"live", s->live.size()}, {"deleted", s->deleted}});
    }
    if (Status s = write_file_atomic(staging / kManifest, manifest.dump()); !s) return s;
    // Swap the whole snapshot in: a crash leaves either the old one or the new one, never a mix.
    std::filesystem::path old = directory.string() + ".old";
    std::filesystem::remove_all(old, ec);
    if (std::filesystem::exists(directory)) std::filesystem::rename(directory, old, ec);
    if (ec) return Status(Errc::io, directory.string() + ": " + ec.message());
    std::filesystem::rename(staging, directory, ec);
    if (ec) return Status(Errc::io, directory.string() + ": " + ec.message());
    std::filesystem::remove_all(old, ec);
    return Status::ok();
}

Expected<std::unique_ptr<SemanticIndex>> SemanticIndex::load(const std::filesystem::path &directory, size_t dim, const std::string &expected_tag) {
    auto manifest_text = read_file(directory / kManifest);
    if (!manifest_text) return manifest_text.error();
    nlohmann::json manifest = nlohmann::json::parse(*manifest_text, nullptr, false);
    auto damaged = [&](const std::string &why) { return Status(Errc::corrupt, directory.string() + ": semantic index snapshot " + why); };
    if (manifest.is_discarded() || manifest.value("format", "") != "aicache-semantic-index/1") return damaged("has no readable manifest");
    if (manifest.value("tag", std::string()) != expected_tag)
        return damaged("is of \"" + manifest.value("tag", std::string()) + "\", not \"" + expected_tag + "\" (stale)");
    if (manifest.value("dim", size_t(0)) != dim)
        return damaged("holds vectors of " + std::to_string(manifest.value("dim", 0)) + " values, not " + std::to_string(dim));
    auto index = std::make_unique<SemanticIndex>(dim);
    try {
        for (const auto &entry : manifest.at("scopes")) {
            std::filesystem::path file = directory / entry.at("file").get<std::string>();
            auto bytes = read_file(file);
            if (!bytes) return bytes.error();
            if (bytes->size() != entry.at("bytes").get<size_t>() || hash64(*bytes, 0) != entry.at("xxh3").get<uint64_t>())
                return damaged("file " + file.filename().string() + " does not match its checksum");
            auto scope = std::make_unique<Scope>(dim);
            scope->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&scope->space, file.string());
            scope->graph->setEf(kSearchBeam);
            for (const auto &[label, internal] : scope->graph->label_lookup_)
                if (!scope->graph->isMarkedDeleted(internal)) scope->live.insert(label);
            scope->deleted = scope->graph->cur_element_count - scope->live.size();
            index->scopes_[entry.at("scope").get<uint64_t>()] = std::move(scope);
        }
    } catch (const std::exception &e) {
        return damaged(std::string("is damaged: ") + e.what());
    }
    return index;
}

} // namespace aicache::cache
