#include "loader/policy_instance.hpp"

namespace aicache::loader {

aicache_writer StringWriter::writer() {
    return aicache_writer{this, [](void *ctx, const void *data, size_t len) -> aicache_status {
                              auto *self = static_cast<StringWriter *>(ctx);
                              if (len > self->limit - self->bytes.size()) return AICACHE_ERR_NO_MEMORY;
                              try {
                                  self->bytes.append(static_cast<const char *>(data), len);
                              } catch (...) {
                                  return AICACHE_ERR_NO_MEMORY;
                              }
                              return AICACHE_OK;
                          }};
}

Expected<PolicyInstance> PolicyInstance::create(std::shared_ptr<const PluginLibrary> library, const std::string &config_json) {
    const aicache_policy_vtable *table = library->policy();
    if (table == nullptr) return Status(Errc::invalid_argument, library->facts().name + " is not a policy plugin");
    aicache_policy *self = nullptr;
    aicache_status status = table->on_create(config_json.data(), config_json.size(), &self);
    if (status != AICACHE_OK) return plugin_failure(library->facts().name + ": on_create", status);
    if (self == nullptr) return Status(Errc::plugin, library->facts().name + ": on_create returned ok but no instance");
    PolicyInstance instance;
    instance.library_ = std::move(library);
    instance.table_ = table;
    instance.self_ = self;
    return instance;
}

Expected<std::string> PolicyInstance::save_state() {
    StringWriter out;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_save_state(self_, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_save_state", status);
    return std::move(out.bytes);
}

Status PolicyInstance::load_state(std::string_view bytes) {
    aicache_status status = table_->on_load_state(self_, aicache_bytes{bytes.data(), bytes.size()});
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_load_state", status);
    return Status::ok();
}

Expected<std::string> PolicyInstance::stats() {
    StringWriter out;
    out.limit = 1 << 20;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_stats(self_, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_stats", status);
    return std::move(out.bytes);
}

} // namespace aicache::loader
