// One live instance of a policy plugin: the C handle plus the table to call it through.
// Calls are thin inline forwards (the cache's hot path goes through them); anything that can
// fail in a way a person must read returns Status.
#pragma once

#include "core/status.hpp"
#include "loader/plugin_library.hpp"

#include <aicache/abi.h>

#include <memory>
#include <string>
#include <string_view>

namespace aicache::loader {

class PolicyInstance {
public:
    PolicyInstance() = default;
    static Expected<PolicyInstance> create(std::shared_ptr<const PluginLibrary> library, const std::string &config_json);

    PolicyInstance(PolicyInstance &&other) noexcept { swap(other); }
    PolicyInstance &operator=(PolicyInstance &&other) noexcept {
        PolicyInstance(std::move(other)).swap(*this);
        return *this;
    }
    PolicyInstance(const PolicyInstance &) = delete;
    PolicyInstance &operator=(const PolicyInstance &) = delete;
    ~PolicyInstance() {
        if (self_ != nullptr) table_->on_destroy(self_);
    }

    [[nodiscard]] bool valid() const noexcept { return self_ != nullptr; }
    [[nodiscard]] const PluginLibrary &library() const noexcept { return *library_; }
    [[nodiscard]] const std::shared_ptr<const PluginLibrary> &library_ptr() const noexcept { return library_; }

    aicache_status insert(const aicache_entry_meta &meta) noexcept { return table_->on_insert(self_, &meta); }
    aicache_status hit(const aicache_entry_meta &meta) noexcept { return table_->on_hit(self_, &meta); }
    aicache_status remove(uint64_t key) noexcept { return table_->on_remove(self_, key); }
    aicache_status victim(uint64_t &key) noexcept { return table_->on_victim(self_, &key); }
    aicache_status admit(const aicache_entry_meta &meta, bool &admitted) noexcept {
        return table_->on_admit(self_, &meta, &admitted);
    }
    aicache_status ttl(const aicache_entry_meta &meta, uint64_t &seconds) noexcept {
        return table_->on_ttl(self_, &meta, &seconds);
    }

    Expected<std::string> save_state();
    Status load_state(std::string_view bytes);
    Expected<std::string> stats();

    void swap(PolicyInstance &other) noexcept {
        std::swap(library_, other.library_);
        std::swap(table_, other.table_);
        std::swap(self_, other.self_);
    }

private:
    std::shared_ptr<const PluginLibrary> library_; // keeps the code mapped while the instance lives
    const aicache_policy_vtable *table_ = nullptr;
    aicache_policy *self_ = nullptr;
};

// Collects bytes a plugin writes through an aicache_writer.
struct StringWriter {
    std::string bytes;
    size_t limit = size_t(1) << 30;
    aicache_writer writer();
};

} // namespace aicache::loader
