#include "loader/plugin_host.hpp"

#include "core/log.hpp"

namespace aicache::loader {

PluginHost::PluginHost(store::Database &db, std::filesystem::path library_store, Qualifier qualify)
    : versions_(db), libraries_(std::move(library_store)), qualify_(std::move(qualify)) {}

void PluginHost::subscribe(Subscriber subscriber) {
    std::lock_guard lock(mutex_);
    subscribers_.push_back(std::move(subscriber));
}

Expected<std::shared_ptr<const PluginLibrary>> PluginHost::map_locked(const store::PluginVersionRecord &record) {
    if (auto it = active_.find(record.name); it != active_.end() && it->second.record.id == record.id) return it->second.library;
    if (auto it = last_good_.find(record.name); it != last_good_.end() && it->second.record.id == record.id)
        return it->second.library;
    auto stored = libraries_.put(libraries_.path_for(record.content_hash));
    if (!stored) return stored.error().with_context("plugin " + record.name + " version #" + std::to_string(record.id));
    if (stored->content_hash != record.content_hash)
        return Status(Errc::corrupt, stored->path.string() + ": content does not match its recorded hash " + record.content_hash);
    auto library = PluginLibrary::load(*stored);
    if (!library) return library.error();
    return std::shared_ptr<const PluginLibrary>(std::move(library.value()));
}

Status PluginHost::publish_locked(const LoadedVersion &next, const std::string &action, const std::string &who) {
    for (const auto &subscriber : subscribers_)
        if (Status s = subscriber(next.record.name, next.library); !s) return s;
    if (Status s = versions_.activate(next.record.id, action, who); !s) return s;
    auto current = active_.find(next.record.name);
    if (current != active_.end() && current->second.record.id != next.record.id) last_good_[next.record.name] = current->second;
    active_[next.record.name] = next;
    spdlog::info("plugin {}: {} version #{} ({} {}) by {}", next.record.name, action, next.record.id, next.record.version,
                 next.record.content_hash.substr(0, 12), who);
    return Status::ok();
}

Expected<LoadedVersion> PluginHost::load(const std::filesystem::path &file, const std::string &who, bool activate) {
    std::optional<std::string> qualified_hash;
    if (qualify_) {
        auto qualified = qualify_(file);
        if (!qualified) return qualified.error();
        qualified_hash = std::move(qualified.value());
    }
    std::lock_guard lock(mutex_);
    auto stored = libraries_.put(file, qualified_hash);
    if (!stored) return stored.error();
    auto library = PluginLibrary::load(*stored);
    if (!library) return library.error();
    const PluginFacts &facts = (*library)->facts();
    store::PluginVersionRecord record;
    record.name = facts.name;
    record.kind = kind_name(facts.kind);
    record.version = facts.version;
    record.abi_major = facts.abi_major;
    record.abi_minor = facts.abi_minor;
    record.content_hash = facts.content_hash;
    record.state_format = facts.state_format;
    record.source_path = std::filesystem::absolute(file).string();
    record.loaded_by = who;
    auto recorded = versions_.record(record);
    if (!recorded) return recorded.error();
    LoadedVersion loaded{*recorded, std::shared_ptr<const PluginLibrary>(std::move(library.value()))};
    // The same bytes already active: keep the mapping that is serving.
    if (auto it = active_.find(loaded.record.name); it != active_.end() && it->second.record.id == loaded.record.id)
        return it->second;
    if (activate) {
        if (Status s = publish_locked(loaded, "activate", who); !s) return s;
    }
    return loaded;
}

Expected<LoadedVersion> PluginHost::rollback(const std::string &name, const std::optional<std::string> &to, const std::string &who) {
    std::lock_guard lock(mutex_);
    auto target = to ? versions_.resolve(name, *to) : versions_.previous(name);
    if (!target) return target.error();
    auto library = map_locked(*target);
    if (!library) return library.error();
    LoadedVersion next{*target, *library};
    if (Status s = publish_locked(next, "rollback", who); !s) return s;
    return next;
}

Expected<LoadedVersion> PluginHost::active(const std::string &name) {
    std::lock_guard lock(mutex_);
    if (auto it = active_.find(name); it != active_.end()) return it->second;
    auto record = versions_.active(name);
    if (!record) return record.error();
    if (!*record) return Status(Errc::not_found, "plugin " + name + " has no active version: load one with `aicache plugin load FILE.so`");
    auto library = map_locked(**record);
    if (!library) return library.error();
    LoadedVersion loaded{**record, *library};
    active_[name] = loaded;
    return loaded;
}

} // namespace aicache::loader
