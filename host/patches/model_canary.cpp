#include "patches/model_canary.hpp"

#include "core/log.hpp"
#include "store/learner_checkpoints.hpp"

#include <fmt/format.h>

#include <cmath>

namespace aicache::patches {
namespace {

double share(uint64_t part, uint64_t whole) { return whole == 0 ? 0.0 : double(part) / double(whole); }
double mean_us(const cache::MatchCounts &c) { return share(c.busy_us, c.lookups); }

// z of the one-sided test that side a's rate of `hits` in `n` exceeds side b's (pooled variance).
double z_above(uint64_t a_hits, uint64_t a_n, uint64_t b_hits, uint64_t b_n) {
    if (a_n == 0 || b_n == 0) return 0;
    const double pa = share(a_hits, a_n), pb = share(b_hits, b_n), pooled = share(a_hits + b_hits, a_n + b_n);
    const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / double(a_n) + 1.0 / double(b_n)));
    return se > 0 ? (pa - pb) / se : 0.0;
}

nlohmann::json counts_json(const cache::MatchCounts &c) {
    return {{"lookups", c.lookups}, {"served", c.served}, {"right", c.right}, {"wrong", c.wrong}, {"busy_us", c.busy_us}};
}

} // namespace

std::optional<ModelWindowVerdict> judge_model_window(const cache::MatchCounts &serving, const cache::MatchCounts &canary, const CanaryOptions &options) {
    if (canary.lookups < options.window_lookups) return std::nullopt;
    constexpr double kZ = 1.645; // one-sided 95%
    const uint64_t judged_canary = canary.right + canary.wrong, judged_serving = serving.right + serving.wrong;
    const double served_canary = 100 * share(canary.served, canary.lookups), served_serving = 100 * share(serving.served, serving.lookups);
    const double wrong_canary = 100 * share(canary.wrong, judged_canary), wrong_serving = 100 * share(serving.wrong, judged_serving);
    const std::string figures = fmt::format("the canary served {:.1f}% of {} questions from the cache, wrong in {:.1f}% of {} judged; the "
                                            "serving model {:.1f}% of {}, wrong in {:.1f}% of {}",
                                            served_canary, canary.lookups, wrong_canary, judged_canary, served_serving, serving.lookups,
                                            wrong_serving, judged_serving) +
                                fmt::format("; a lookup took {:.0f} µs on the canary, {:.0f} µs on the serving model", mean_us(canary), mean_us(serving));
    // A small absolute difference is the clock's and the machine's noise, not the model's.
    constexpr double kNoiseUs = 100;
    if (options.latency_ratio > 0 && serving.lookups > 0 && mean_us(canary) > options.latency_ratio * mean_us(serving) &&
        mean_us(canary) - mean_us(serving) > kNoiseUs)
        return ModelWindowVerdict{false, figures + fmt::format(": {:.1f} times as slow, more than the {:.1f} allowed", mean_us(canary) / mean_us(serving),
                                                               options.latency_ratio)};
    const bool enough_judged = judged_canary >= 10;
    if (enough_judged && z_above(canary.wrong, judged_canary, serving.wrong, judged_serving) > kZ)
        return ModelWindowVerdict{false, figures + ": significantly more often wrong"};
    const bool less_often_wrong = enough_judged && z_above(serving.wrong, judged_serving, canary.wrong, judged_canary) > kZ;
    if (served_canary < served_serving - options.margin_points && !less_often_wrong)
        return ModelWindowVerdict{false, figures + fmt::format(": serves {:.1f} points less, more than the margin of {:.1f}",
                                                               served_serving - served_canary, options.margin_points)};
    return ModelWindowVerdict{true, figures};
}

ModelCanary::ModelCanary(cache::SemanticMatcher &matcher, AuditLog &audit, store::Database &db, std::filesystem::path checkpoints_dir)
    : matcher_(matcher), audit_(audit), db_(db), checkpoints_dir_(std::move(checkpoints_dir)) {}

Expected<nlohmann::json> ModelCanary::apply(int64_t checkpoint_id, const std::string &who, const CanaryOptions &options) {
    std::lock_guard lock(mutex_);
    if (canary_) return Status(Errc::busy, fmt::format("checkpoint #{} is on canary; wait for the verdict or roll it back", canary_->checkpoint));
    store::LearnerCheckpoints checkpoints(db_, checkpoints_dir_);
    auto record = checkpoints.find(checkpoint_id);
    if (!record) return record.error();
    if (!*record) return Status(Errc::not_found, fmt::format("no checkpoint #{} (aicache learner list)", checkpoint_id));
    const auto &facts = matcher_.encoder_library().facts();
    if ((*record)->learner != facts.name)
        return Status(Errc::invalid_argument, fmt::format("checkpoint #{} is of {}, this host's encoder is {}", checkpoint_id, (*record)->learner, facts.name));
    auto bytes = checkpoints.read(**record);
    if (!bytes) return bytes.error();
    if (slot_ != nullptr)
        if (Status taken = slot_->take(fmt::format("checkpoint #{}", checkpoint_id)); !taken) return taken;
    auto started = matcher_.start_canary(*bytes, options.share);
    if (!started) {
        if (slot_ != nullptr) slot_->release();
        return started.error().with_context(fmt::format("checkpoint #{}", checkpoint_id));
    }
    canary_.emplace(Canary{checkpoint_id, options, {}, 0});
    nlohmann::json details = {{"learner", facts.name}, {"checkpoint", checkpoint_id}, {"model", started->model}, {"share", options.share},
                              {"window_lookups", options.window_lookups}, {"margin_points", options.margin_points},
                              {"probation_windows", options.probation_windows}, {"reembedded", started->reembedded}};
    if (auto logged = audit_.append(who, "model-canary", facts.name, details); !logged) return logged.error();
    last_event_ = fmt::format("checkpoint #{} on canary", checkpoint_id);
    spdlog::warn("{} checkpoint #{} on canary for {:.0f}% of questions", facts.name, checkpoint_id, 100 * options.share);
    return details;
}

Status ModelCanary::finish_locked(bool promote, const std::string &who, const std::string &why) {
    Canary canary = std::move(*canary_);
    canary_.reset();
    if (slot_ != nullptr) slot_->release();
    const std::string learner = matcher_.encoder_library().facts().name;
    if (Status ended = matcher_.end_canary(promote); !ended) return ended;
    if (promote)
        if (Status kept = store::LearnerCheckpoints(db_, checkpoints_dir_).activate(learner, canary.checkpoint); !kept)
            spdlog::error("promoted checkpoint #{} not made active for the next start: {}", canary.checkpoint, kept.message());
    auto logged = audit_.append(who, promote ? "model-promote" : "model-rollback", learner, {{"checkpoint", canary.checkpoint}, {"why", why}});
    last_event_ = fmt::format("checkpoint #{} {}: {}", canary.checkpoint, promote ? "promoted" : "rolled back", why);
    spdlog::warn("{}: {}", learner, last_event_);
    return logged ? Status::ok() : logged.error();
}

void ModelCanary::tick() {
    std::lock_guard lock(mutex_);
    if (!canary_) return;
    auto counts = matcher_.canary_counts();
    if (!counts) return;
    auto verdict = judge_model_window(counts->serving_counts - canary_->judged.serving_counts, counts->canary_counts - canary_->judged.canary_counts,
                                      canary_->options);
    if (!verdict) return;
    if (!verdict->passed) {
        if (Status done = finish_locked(false, "canary", verdict->why); !done) spdlog::error("model canary verdict: {}", done.message());
        return;
    }
    canary_->judged = *counts;
    if (++canary_->windows_passed < std::max<uint64_t>(1, canary_->options.probation_windows)) {
        last_event_ = fmt::format("checkpoint #{} passed window {} of {}: {}", canary_->checkpoint, canary_->windows_passed,
                                  canary_->options.probation_windows, verdict->why);
        return;
    }
    if (Status done = finish_locked(true, "canary", verdict->why); !done) spdlog::error("model canary verdict: {}", done.message());
}

Expected<nlohmann::json> ModelCanary::rollback(const std::string &who) {
    std::lock_guard lock(mutex_);
    if (!canary_) return Status(Errc::not_found, "no checkpoint is on canary");
    const int64_t id = canary_->checkpoint;
    if (Status done = finish_locked(false, who, "rolled back by " + who); !done) return done;
    return nlohmann::json{{"rolled_back", id}, {"serving", matcher_.model()}};
}

nlohmann::json ModelCanary::status() {
    std::lock_guard lock(mutex_);
    nlohmann::json out = {{"learner", matcher_.encoder_library().facts().name}, {"serving", matcher_.model()}, {"last_event", last_event_}};
    if (canary_)
        if (auto counts = matcher_.canary_counts()) {
            out["canary"] = {{"checkpoint", canary_->checkpoint}, {"model", counts->canary}, {"canary_counts", counts_json(counts->canary_counts)},
                             {"serving_counts", counts_json(counts->serving_counts)}, {"windows_passed", canary_->windows_passed},
                             {"window_lookups", canary_->options.window_lookups}};
        }
    return out;
}

} // namespace aicache::patches
