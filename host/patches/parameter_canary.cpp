#include "patches/parameter_canary.hpp"

#include "core/log.hpp"
#include "store/policy_parameters.hpp"

namespace aicache::patches {
namespace {

// The cache keeps parameters as a JSON object's text; reports show them as objects.
nlohmann::json object_of(const std::string &text) {
    nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
    return parsed.is_object() ? parsed : nlohmann::json::object();
}

// "policy lirs {...}" for a swap, "parameters {...}" otherwise: how logs and events name a change.
std::string describe(const std::shared_ptr<const loader::PluginLibrary> &library, const nlohmann::json &parameters) {
    return library ? "policy " + library->facts().name + " " + parameters.dump() : "parameters " + parameters.dump();
}

// A swap's audit details name both policies.
void add_swap(nlohmann::json &details, const std::shared_ptr<const loader::PluginLibrary> &to, const std::shared_ptr<const loader::PluginLibrary> &from) {
    if (to) details["swap_to"] = to->facts().name_and_version(), details["swap_from"] = from->facts().name;
}

} // namespace

ParameterCanary::ParameterCanary(cache::Cache &cache, AuditLog &audit, store::Database &db, std::string policy)
    : cache_(cache), audit_(audit), db_(db), policy_(std::move(policy)) {}

Expected<nlohmann::json> ParameterCanary::apply(const nlohmann::json &parameters, const std::string &who, const CanaryOptions &options,
                                                std::shared_ptr<const loader::PluginLibrary> library) {
    if (!parameters.is_object()) return Status(Errc::invalid_argument, "parameters must be a JSON object");
    std::lock_guard lock(mutex_);
    if (canary_) return Status(Errc::busy, "parameters " + canary_->parameters_json.dump() + " are on canary; wait for the verdict or roll them back");
    std::vector<uint32_t> shards = CanarySplit::choose(cache_.shard_count(), options.share);
    if (shards.empty()) return Status(Errc::invalid_argument, "a canary needs at least 2 shards (serve --shards)");
    const std::string text = parameters.dump(), previous = cache_.shard_parameters(shards.front());
    const auto previous_library = cache_.shard_policy(shards.front());
    const std::string what = describe(library, parameters);
    if (slot_ != nullptr)
        if (Status taken = slot_->take(what); !taken) return taken;
    // The policy checks its parameters when an instance is created: bad ones are refused here,
    // before any shard changed.
    if (Status swapped = cache_.swap_policy_on(shards, library ? library : previous_library, text); !swapped) {
        if (slot_ != nullptr) slot_->release();
        return swapped.with_context(what);
    }
    canary_.emplace(Canary{text, previous, library, previous_library, parameters, options, CanarySplit(cache_, shards, history_, options), who});
    nlohmann::json details = {{"policy", policy_}, {"parameters", parameters}, {"previous", object_of(previous)}, {"shards", shards},
                              {"of", cache_.shard_count()}, {"window_lookups", options.window_lookups}, {"margin_points", options.margin_points}};
    add_swap(details, library, previous_library);
    if (auto logged = audit_.append(who, library ? "policy-canary" : "parameters-canary", policy_, details); !logged) return logged.error();
    last_event_ = what + " on canary";
    spdlog::warn("{}: {} on canary: shards {} of {}", policy_, what, shards.size(), cache_.shard_count());
    return details;
}

Status ParameterCanary::finish_locked(bool promote, const std::string &who, const std::string &why) {
    Canary canary = std::move(*canary_);
    canary_.reset();
    if (slot_ != nullptr) slot_->release();
    if (history_ != nullptr) history_->restart();
    const std::string what = describe(canary.library, canary.parameters_json);
    if (promote) {
        std::vector<uint32_t> all(cache_.shard_count());
        for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
        if (Status swapped = cache_.swap_policy_on(all, canary.library ? canary.library : canary.previous_library, canary.parameters); !swapped)
            return swapped;
        // Kept for the next start: a swap as the slot's policy (serve --policy names the slot),
        // parameters as the serving policy's.
        store::PolicyParameters kept(db_);
        Status saved = canary.library ? kept.promote_choice(policy_, canary.library->facts().name, canary.who, why)
                                      : kept.promote(cache_.shard_policy(0)->facts().name, canary.parameters, canary.who, why);
        if (!saved) spdlog::error("what was promoted is not kept for the next start: {}", saved.message());
        if (canary.library && on_policy_promoted_) on_policy_promoted_(*canary.library);
    } else if (Status swapped = cache_.swap_policy_on(canary.split.shards(), canary.previous_library, canary.previous); !swapped) {
        return swapped;
    }
    const char *action = canary.library ? (promote ? "policy-promote" : "policy-rollback") : (promote ? "parameters-promote" : "parameters-rollback");
    nlohmann::json details = {{"parameters", canary.parameters_json}, {"restored", promote ? nlohmann::json() : object_of(canary.previous)}, {"why", why}};
    add_swap(details, canary.library, canary.previous_library);
    auto logged = audit_.append(who, action, policy_, details);
    last_event_ = what + (promote ? " promoted: " : " rolled back: ") + why;
    spdlog::warn("{}: {}", policy_, last_event_);
    return logged ? Status::ok() : logged.error();
}

void ParameterCanary::tick() {
    std::lock_guard lock(mutex_);
    if (!canary_) return;
    auto verdict = canary_->split.verdict(canary_->options);
    if (!verdict) return;
    if (Status done = finish_locked(verdict->promote, "canary", verdict->why); !done) spdlog::error("parameter canary verdict: {}", done.message());
}

Expected<nlohmann::json> ParameterCanary::rollback(const std::string &who) {
    std::lock_guard lock(mutex_);
    if (!canary_) return Status(Errc::not_found, "no parameters are on canary");
    if (Status done = finish_locked(false, who, "rolled back by " + who); !done) return done;
    return nlohmann::json{{"restored", "the canary shards' previous parameters"}};
}

nlohmann::json ParameterCanary::status() {
    std::lock_guard lock(mutex_);
    nlohmann::json out = {{"policy", policy_}, {"serving", CanarySplit::serving_policy(cache_)->facts().name},
                          {"parameters", object_of(CanarySplit::serving_parameters(cache_))}, {"last_event", last_event_}};
    if (canary_) {
        SplitCounts s = canary_->split.sides();
        out["canary"] = {{"parameters", canary_->parameters_json}, {"shards", canary_->split.shards()}, {"canary_lookups", s.canary.lookups},
                         {"canary_hits", s.canary.hits}, {"rest_lookups", s.rest.lookups}, {"rest_hits", s.rest.hits},
                         {"window_lookups", canary_->options.window_lookups}};
    }
    return out;
}

} // namespace aicache::patches
