#include "loader/optimizer_instance.hpp"

#include "loader/policy_instance.hpp"

#include <nlohmann/json.hpp>

namespace aicache::loader {
namespace {

constexpr size_t kCandidateLimit = size_t(16) << 20; // a policy patch's source fits many times over

// A candidate must be a JSON object with an id: the host records and tells it back by that id.
Status check_candidate(const std::string &what, const std::string &text, bool needs_id) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
        return Status(Errc::plugin, what + " wrote " + std::to_string(text.size()) + " bytes that are not a JSON object");
    if (needs_id && (!parsed.contains("id") || !(parsed["id"].is_string() || parsed["id"].is_number_integer())))
        return Status(Errc::plugin, what + " wrote a candidate without a string or integer \"id\"");
    return Status::ok();
}

} // namespace

Expected<OptimizerInstance> OptimizerInstance::create(std::shared_ptr<const PluginLibrary> library, const std::string &search_space_json) {
    const aicache_optimizer_vtable *table = library->optimizer();
    if (table == nullptr) return Status(Errc::invalid_argument, library->facts().name + " is not an optimizer plugin");
    aicache_optimizer *self = nullptr;
    aicache_status status = table->on_create(search_space_json.data(), search_space_json.size(), &self);
    if (status != AICACHE_OK) return plugin_failure(library->facts().name + ": on_create", status);
    if (self == nullptr) return Status(Errc::plugin, library->facts().name + ": on_create returned ok but no instance");
    OptimizerInstance instance;
    instance.library_ = std::move(library);
    instance.table_ = table;
    instance.self_ = self;
    return instance;
}

Expected<std::string> OptimizerInstance::ask() {
    StringWriter out;
    out.limit = kCandidateLimit;
    aicache_writer writer = out.writer();
    const std::string what = library_->facts().name + ": on_ask";
    if (aicache_status status = table_->on_ask(self_, &writer); status != AICACHE_OK) return plugin_failure(what, status);
    if (Status checked = check_candidate(what, out.bytes, true); !checked) return checked;
    return std::move(out.bytes);
}

Status OptimizerInstance::tell(std::string_view candidate_json, double score) {
    aicache_status status = table_->on_tell(self_, aicache_bytes{candidate_json.data(), candidate_json.size()}, score);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_tell", status);
    return Status::ok();
}

Expected<std::string> OptimizerInstance::best() {
    StringWriter out;
    out.limit = kCandidateLimit;
    aicache_writer writer = out.writer();
    const std::string what = library_->facts().name + ": on_best";
    aicache_status status = table_->on_best(self_, &writer);
    if (status == AICACHE_ERR_NOT_FOUND) return Status(Errc::not_found, what + ": no candidate has been told yet");
    if (status != AICACHE_OK) return plugin_failure(what, status);
    if (Status checked = check_candidate(what, out.bytes, false); !checked) return checked;
    return std::move(out.bytes);
}

Expected<std::string> OptimizerInstance::save_state() {
    StringWriter out;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_save_state(self_, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_save_state", status);
    return std::move(out.bytes);
}

Status OptimizerInstance::load_state(std::string_view bytes) {
    aicache_status status = table_->on_load_state(self_, aicache_bytes{bytes.data(), bytes.size()});
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_load_state", status);
    return Status::ok();
}

} // namespace aicache::loader
