#include "loader/plugin_library.hpp"

#include "core/log.hpp"
#include "loader/elf_check.hpp"

#include <chrono>
#include <cstddef>
#include <cstring>
#include <regex>

#include <dlfcn.h>

namespace aicache::loader {
namespace {

thread_local std::string t_last_plugin_error;

void host_log(void *ctx, aicache_log_level level, const char *message) {
    const auto *context = static_cast<const std::string *>(ctx);
    spdlog::level::level_enum lvl = level <= AICACHE_LOG_DEBUG  ? spdlog::level::debug
                                    : level == AICACHE_LOG_INFO ? spdlog::level::info
                                    : level == AICACHE_LOG_WARN ? spdlog::level::warn
                                                                : spdlog::level::err;
    spdlog::log(lvl, "plugin {}: {}", *context, message != nullptr ? message : "");
}

void host_report_error(void *, aicache_status, const char *message) {
    t_last_plugin_error = message != nullptr ? message : "";
}

uint64_t host_now_us(void *) {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

// The fields ABI 1.0 defines; a plugin that fills fewer is broken, whatever its minor says.
constexpr size_t kDescriptorMinSize = offsetof(aicache_plugin_descriptor, vtable) + sizeof(void *);
constexpr size_t kPolicyTableMinSize = offsetof(aicache_policy_vtable, on_stats) + sizeof(void *);
constexpr size_t kOptimizerTableMinSize = offsetof(aicache_optimizer_vtable, on_load_state) + sizeof(void *);
constexpr size_t kLearnerTableMinSize = offsetof(aicache_learner_vtable, on_load_state) + sizeof(void *);

} // namespace

const char *kind_name(aicache_kind kind) noexcept {
    switch (kind) {
    case AICACHE_KIND_POLICY: return "policy";
    case AICACHE_KIND_LEARNER: return "learner";
    case AICACHE_KIND_OPTIMIZER: return "optimizer";
    default: return "unknown";
    }
}

const char *status_name(aicache_status status) noexcept {
    switch (status) {
    case AICACHE_OK: return "ok";
    case AICACHE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case AICACHE_ERR_NO_MEMORY: return "out of memory";
    case AICACHE_ERR_NOT_FOUND: return "not found";
    case AICACHE_ERR_STATE_FORMAT: return "state format";
    case AICACHE_ERR_ABI: return "abi";
    case AICACHE_ERR_UNSUPPORTED: return "unsupported";
    case AICACHE_ERR_INTERNAL: return "internal";
    default: return "unknown status";
    }
}

std::string take_plugin_error() {
    std::string text;
    text.swap(t_last_plugin_error);
    return text;
}

Status plugin_failure(const std::string &call, aicache_status status) {
    std::string detail = take_plugin_error();
    std::string message = call + " failed (" + status_name(status) + ")";
    if (!detail.empty()) message += ": " + detail;
    return Status(Errc::plugin, message);
}

Expected<std::shared_ptr<PluginLibrary>> PluginLibrary::load(const StoredLibrary &stored) {
    const std::string what = stored.path.filename().string();
    auto elf = inspect_elf(stored.bytes, what);
    if (!elf) return elf.error();
    if (Status loadable = check_loadable(*elf, what); !loadable) return loadable;

    std::shared_ptr<PluginLibrary> self(new PluginLibrary());
    self->context_ = std::make_unique<HostContext>();
    self->context_->label = what;
    self->facts_.content_hash = stored.content_hash;
    self->facts_.path = stored.path;

    std::error_code ec;
    // RTLD_LOCAL: plugins never see each other's symbols. RTLD_NOW: unresolved symbols fail here,
    // not in the middle of a lookup.
    self->library_.load(stored.path, boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
    if (ec) return Status(Errc::abi, what + ": cannot load: " + ec.message() + " (" + (dlerror() ?: "") + ")");
    if (Status negotiated = self->negotiate(what); !negotiated) return negotiated;
    return self;
}

Expected<std::shared_ptr<PluginLibrary>> PluginLibrary::from_entry(aicache_plugin_init_fn entry, std::shared_ptr<void> code,
                                                                   const std::string &label, const std::string &content_hash) {
    if (entry == nullptr) return Status(Errc::abi, label + ": no entry point");
    std::shared_ptr<PluginLibrary> self(new PluginLibrary());
    self->context_ = std::make_unique<HostContext>();
    self->context_->label = label;
    self->facts_.content_hash = content_hash;
    self->code_ = std::move(code);
    if (Status negotiated = self->negotiate(label, entry); !negotiated) return negotiated;
    return self;
}

Status PluginLibrary::negotiate(const std::string &what) {
    if (!library_.has(AICACHE_PLUGIN_ENTRY_SYMBOL))
        return Status(Errc::abi, what + ": no " AICACHE_PLUGIN_ENTRY_SYMBOL " symbol after loading");
    return negotiate(what, &library_.get<aicache_status(const aicache_host_api *, aicache_plugin_descriptor *)>(AICACHE_PLUGIN_ENTRY_SYMBOL));
}

Status PluginLibrary::negotiate(const std::string &what, aicache_plugin_init_fn init) {

    host_api_.struct_size = sizeof host_api_;
    host_api_.abi_major = AICACHE_ABI_MAJOR;
    host_api_.abi_minor = AICACHE_ABI_MINOR;
    host_api_.host_ctx = &context_->label;
    host_api_.log = &host_log;
    host_api_.report_error = &host_report_error;
    host_api_.now_us = &host_now_us;

    aicache_plugin_descriptor descriptor{};
    descriptor.struct_size = sizeof descriptor;
    aicache_status status = init(&host_api_, &descriptor);
    if (status == AICACHE_ERR_ABI)
        return Status(Errc::abi, what + ": refuses host ABI " + std::to_string(AICACHE_ABI_MAJOR) + "." +
                                     std::to_string(AICACHE_ABI_MINOR) + ": rebuild it against this SDK");
    if (status != AICACHE_OK) return plugin_failure(what + ": " AICACHE_PLUGIN_ENTRY_SYMBOL, status);

    if (descriptor.abi_major != AICACHE_ABI_MAJOR)
        return Status(Errc::abi, what + ": ABI major " + std::to_string(descriptor.abi_major) + ", host speaks " +
                                     std::to_string(AICACHE_ABI_MAJOR) + ": rebuild against this SDK");
    if (descriptor.struct_size < kDescriptorMinSize || descriptor.struct_size > sizeof descriptor)
        return Status(Errc::abi, what + ": descriptor struct_size " + std::to_string(descriptor.struct_size) +
                                     " is outside [" + std::to_string(kDescriptorMinSize) + ", " +
                                     std::to_string(sizeof descriptor) + "]: struct too small or corrupt");
    if (descriptor.name == nullptr || descriptor.version == nullptr || descriptor.vtable == nullptr)
        return Status(Errc::abi, what + ": descriptor lacks a name, version or function table");
    static const std::regex valid_name("[a-z0-9_-]{1,64}");
    if (!std::regex_match(descriptor.name, valid_name))
        return Status(Errc::abi, what + ": plugin name \"" + std::string(descriptor.name) + "\" is not [a-z0-9_-]{1,64}");

    facts_.name = descriptor.name;
    facts_.version = descriptor.version;
    facts_.kind = descriptor.kind;
    facts_.abi_major = descriptor.abi_major;
    facts_.abi_minor = descriptor.abi_minor;
    facts_.capabilities = descriptor.capabilities;
    context_->label = facts_.name_and_version() + " (" + facts_.content_hash.substr(0, 12) + ")";

    switch (descriptor.kind) {
    case AICACHE_KIND_POLICY: return take_policy_table(what, static_cast<const aicache_policy_vtable *>(descriptor.vtable));
    case AICACHE_KIND_OPTIMIZER:
        return take_optimizer_table(what, static_cast<const aicache_optimizer_vtable *>(descriptor.vtable));
    case AICACHE_KIND_LEARNER: return take_learner_table(what, static_cast<const aicache_learner_vtable *>(descriptor.vtable));
    default:
        return Status(Errc::abi, what + ": kind " + std::string(kind_name(descriptor.kind)) + " (" +
                                     std::to_string(descriptor.kind) + ") is not one this host knows");
    }
}

Status PluginLibrary::take_policy_table(const std::string &what, const aicache_policy_vtable *table) {
    if (table->abi_major != AICACHE_ABI_MAJOR || table->struct_size < kPolicyTableMinSize)
        return Status(Errc::abi, what + ": policy table is ABI " + std::to_string(table->abi_major) + " with struct_size " +
                                     std::to_string(table->struct_size) + ", needs ABI 1 and at least " +
                                     std::to_string(kPolicyTableMinSize) + " bytes: struct too small");
    std::memcpy(&policy_, table, std::min<size_t>(table->struct_size, sizeof policy_));
    policy_.struct_size = static_cast<uint32_t>(std::min<size_t>(table->struct_size, sizeof policy_));
    if (policy_.on_create == nullptr || policy_.on_destroy == nullptr || policy_.on_insert == nullptr ||
        policy_.on_hit == nullptr || policy_.on_remove == nullptr || policy_.on_victim == nullptr ||
        policy_.on_admit == nullptr || policy_.on_ttl == nullptr || policy_.on_save_state == nullptr ||
        policy_.on_load_state == nullptr || policy_.on_stats == nullptr)
        return Status(Errc::abi, what + ": policy table has a NULL function (every ABI 1.0 function is required)");
    facts_.state_format = policy_.state_format != nullptr ? policy_.state_format : "";
    return Status::ok();
}

Status PluginLibrary::take_learner_table(const std::string &what, const aicache_learner_vtable *table) {
    if (table->abi_major != AICACHE_ABI_MAJOR || table->struct_size < kLearnerTableMinSize)
        return Status(Errc::abi, what + ": learner table is ABI " + std::to_string(table->abi_major) + " with struct_size " +
                                     std::to_string(table->struct_size) + ", needs ABI 1 and at least " +
                                     std::to_string(kLearnerTableMinSize) + " bytes: struct too small");
    std::memcpy(&learner_, table, std::min<size_t>(table->struct_size, sizeof learner_));
    learner_.struct_size = static_cast<uint32_t>(std::min<size_t>(table->struct_size, sizeof learner_));
    if (learner_.on_create == nullptr || learner_.on_destroy == nullptr || learner_.on_observe == nullptr ||
        learner_.on_train == nullptr || learner_.on_infer == nullptr || learner_.on_save_state == nullptr ||
        learner_.on_load_state == nullptr)
        return Status(Errc::abi, what + ": learner table has a NULL function (every ABI 1.0 function is required)");
    facts_.state_format = learner_.state_format != nullptr ? learner_.state_format : "";
    return Status::ok();
}

Status PluginLibrary::take_optimizer_table(const std::string &what, const aicache_optimizer_vtable *table) {
    if (table->abi_major != AICACHE_ABI_MAJOR || table->struct_size < kOptimizerTableMinSize)
        return Status(Errc::abi, what + ": optimizer table is ABI " + std::to_string(table->abi_major) + " with struct_size " +
                                     std::to_string(table->struct_size) + ", needs ABI 1 and at least " +
                                     std::to_string(kOptimizerTableMinSize) + " bytes: struct too small");
    std::memcpy(&optimizer_, table, std::min<size_t>(table->struct_size, sizeof optimizer_));
    optimizer_.struct_size = static_cast<uint32_t>(std::min<size_t>(table->struct_size, sizeof optimizer_));
    if (optimizer_.on_create == nullptr || optimizer_.on_destroy == nullptr || optimizer_.on_ask == nullptr ||
        optimizer_.on_tell == nullptr || optimizer_.on_best == nullptr || optimizer_.on_save_state == nullptr ||
        optimizer_.on_load_state == nullptr)
        return Status(Errc::abi, what + ": optimizer table has a NULL function (every ABI 1.0 function is required)");
    facts_.state_format = optimizer_.state_format != nullptr ? optimizer_.state_format : "";
    return Status::ok();
}

Expected<std::shared_ptr<PluginLibrary>> PluginLibrary::load_file(const std::filesystem::path &file,
                                                                   const std::optional<std::string> &expected_hash) {
    auto read = read_library(file, expected_hash);
    if (!read) return read.error();
    return load(*read);
}

PluginLibrary::~PluginLibrary() {
    spdlog::debug("unloading plugin {}", context_ ? context_->label : "?");
}

} // namespace aicache::loader
