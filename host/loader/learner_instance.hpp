// One live instance of a learner plugin. The host serializes calls to it. Inference answers are
// bytes (JSON text or float32 arrays, see plugin-api/include/aicache/sdk/learner.hpp); `embed` and
// `match` give them typed.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"

#include <aicache/abi.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aicache::loader {

class LearnerInstance {
public:
    static Expected<LearnerInstance> create(std::shared_ptr<const PluginLibrary> library, const std::string &config_json);

    LearnerInstance(LearnerInstance &&other) noexcept { swap(other); }
    LearnerInstance &operator=(LearnerInstance &&other) noexcept {
        LearnerInstance(std::move(other)).swap(*this);
        return *this;
    }
    LearnerInstance(const LearnerInstance &) = delete;
    LearnerInstance &operator=(const LearnerInstance &) = delete;
    ~LearnerInstance() {
        if (self_ != nullptr) table_->on_destroy(self_);
    }

    [[nodiscard]] const PluginLibrary &library() const noexcept { return *library_; }

    Status observe(const aicache_example &example);
    // A labelled query pair (1: b may be answered with a's answer, 0: it may not).
    Status observe_pair(std::string_view a, std::string_view b, int label);
    Expected<std::string> train(uint64_t budget_ms); // JSON metrics
    Expected<std::string> infer(std::string_view request_json);

    // Row-major texts.size() x dim embeddings.
    Expected<std::vector<float>> embed(const std::vector<std::string> &texts, size_t &dim);
    Expected<std::vector<float>> match(const std::vector<std::pair<std::string, std::string>> &pairs);
    // The match op on embeddings the caller already holds (the learner's own): one score per
    // candidate that the question embedded as `query` may be answered with the candidate's answer.
    Expected<std::vector<float>> relate(std::span<const float> query, const std::vector<std::span<const float>> &candidates);

    Expected<std::string> save_state();
    Status load_state(std::string_view bytes);

    void swap(LearnerInstance &other) noexcept {
        std::swap(library_, other.library_);
        std::swap(table_, other.table_);
        std::swap(self_, other.self_);
    }

private:
    LearnerInstance() = default;
    std::shared_ptr<const PluginLibrary> library_;
    const aicache_learner_vtable *table_ = nullptr;
    aicache_learner *self_ = nullptr;
};

} // namespace aicache::loader
