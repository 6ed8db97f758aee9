// One live instance of an optimizer plugin (ask/tell search). The host serializes calls to it.
// Candidates and best answers are JSON text, checked to be a JSON object before they leave here.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"

#include <aicache/abi.h>

#include <memory>
#include <string>
#include <string_view>

namespace aicache::loader {

class OptimizerInstance {
public:
    static Expected<OptimizerInstance> create(std::shared_ptr<const PluginLibrary> library, const std::string &search_space_json);

    OptimizerInstance(OptimizerInstance &&other) noexcept { swap(other); }
    OptimizerInstance &operator=(OptimizerInstance &&other) noexcept {
        OptimizerInstance(std::move(other)).swap(*this);
        return *this;
    }
    OptimizerInstance(const OptimizerInstance &) = delete;
    OptimizerInstance &operator=(const OptimizerInstance &) = delete;
    ~OptimizerInstance() {
        if (self_ != nullptr) table_->on_destroy(self_);
    }

    [[nodiscard]] const PluginLibrary &library() const noexcept { return *library_; }

    Expected<std::string> ask();                                    // a JSON object with an "id"
    Status tell(std::string_view candidate_json, double score);
    Expected<std::string> best();                                   // Errc::not_found before any tell
    Expected<std::string> save_state();
    Status load_state(std::string_view bytes);

    void swap(OptimizerInstance &other) noexcept {
        std::swap(library_, other.library_);
        std::swap(table_, other.table_);
        std::swap(self_, other.self_);
    }

private:
    OptimizerInstance() = default;
    std::shared_ptr<const PluginLibrary> library_; // keeps the code mapped while the instance lives
    const aicache_optimizer_vtable *table_ = nullptr;
    aicache_optimizer *self_ = nullptr;
};

} // namespace aicache::loader
