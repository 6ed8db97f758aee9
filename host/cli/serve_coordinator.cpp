#include "cli/serve_coordinator.hpp"

#include "core/log.hpp"
#include "learning/coordinator.hpp"
#include "learning/checkpoint_training.hpp"
#include "learning/drift_test.hpp"
#include "learning/pairs.hpp"
#include "replay/trace.hpp"
#include "store/learning_cycles.hpp"
#include "store/monitor_windows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace aicache::cli {

ServeCoordinator::ServeCoordinator(ServeCoordinatorOptions options, DataPlane &plane, const std::string &policy_name, learning::RequestLog *log,
                                   patches::ParameterCanary &canary, std::shared_ptr<const loader::PluginLibrary> tuner)
    : options_(std::move(options)), plane_(plane), policy_name_(policy_name), log_(log), canary_(canary), tuner_(std::move(tuner)) {}

ServeCoordinator::~ServeCoordinator() { stop(); }

void ServeCoordinator::start() {
    if (options_.every.count() == 0 && options_.every_windows == 0 && !options_.on_drift) return;
    thread_ = std::thread([this] { run(); });
}

void ServeCoordinator::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ServeCoordinator::window_closed() {
    {
        std::lock_guard lock(mutex_);
        window_pending_ = true;
    }
    wake_.notify_all();
}

void ServeCoordinator::run() {
    // Linux schedules threads as processes: this one alone runs under SCHED_IDLE, on CPU time the
    // data plane leaves (nice 10 cost the hit path 29% of its throughput with cycles back to back,
    // SCHED_IDLE 2-8%: bench/proxy_bench.sh). Where a sandbox refuses the policy, nice 19.
    const auto thread_id = static_cast<pid_t>(syscall(SYS_gettid));
    sched_param idle{};
    if (sched_setscheduler(thread_id, SCHED_IDLE, &idle) != 0) {
        spdlog::warn("learning: cycles cannot run under SCHED_IDLE ({}); they run at nice 19", std::strerror(errno));
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(thread_id), 19);
    }
    auto next_scheduled = std::chrono::steady_clock::now() + options_.every;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (options_.every.count() > 0) wake_.wait_until(lock, next_scheduled, [this] { return stopping_ || window_pending_; });
        else wake_.wait(lock, [this] { return stopping_ || window_pending_; });
        if (stopping_) break;
        std::string trigger;
        if (window_pending_) {
            window_pending_ = false;
            ++windows_closed_;
            if (options_.every_windows > 0 && windows_closed_ % options_.every_windows == 0)
                trigger = "schedule: every " + std::to_string(options_.every_windows) + " windows";
            if (options_.on_drift) {
                lock.unlock();
                auto windows = store::MonitorWindows(*plane_.db).recent(6);
                // Windows from before the last cycle describe traffic it already answered to: not a reference.
                if (windows) std::erase_if(*windows, [this](const store::WindowFigures &w) { return w.start_us < reference_from_us_; });
                learning::DriftVerdict drift = windows ? learning::detect_drift(*windows) : learning::DriftVerdict{};
                if (windows && !windows->empty()) last_window_end_us_ = windows->back().end_us;
                lock.lock();
                if (drift.drifted) trigger = "drift: " + drift.why; // the stronger reason, when both
            }
        }
        if (trigger.empty() && options_.every.count() > 0 && std::chrono::steady_clock::now() >= next_scheduled) trigger = "schedule";
        if (trigger.empty()) continue;
        next_scheduled = std::chrono::steady_clock::now() + options_.every;
        lock.unlock();
        const bool changed = cycle(trigger);
        lock.lock();
        // After a drift or a change the windows before are no reference for the ones to come.
        if (changed || trigger.starts_with("drift")) reference_from_us_ = last_window_end_us_;
    }
}

void ServeCoordinator::train_models_with(patches::ModelCanary *models, std::shared_ptr<const loader::PluginLibrary> encoder) {
    std::lock_guard lock(models_mutex_);
    models_ = models;
    encoder_ = std::move(encoder);
}

bool ServeCoordinator::cycle(const std::string &trigger) {
    // Tuning the parameters of a policy about to be replaced would be wasted, and the canary is taken.
    const bool policy_changed = choice_cycle(trigger) || policy_cycle(trigger);
    const bool encoder_changed = encoder_cycle(trigger);
    return policy_changed || encoder_changed;
}

std::optional<replay::Trace> ServeCoordinator::recorded_traffic() {
    if (log_ != nullptr) log_->flush();
    auto traffic = replay::read_request_logs(learning::request_log_files(plane_.data));
    if (traffic) return std::move(*traffic);
    spdlog::error("learning: the recorded traffic cannot be read: {}", traffic.error().message());
    return std::nullopt;
}

bool ServeCoordinator::choice_cycle(const std::string &trigger) {
    if (options_.policies.size() < 2) return false;
    auto traffic = recorded_traffic();
    if (!traffic) return false;
    const auto serving = patches::CanarySplit::serving_policy(plane_.cache->memory());
    learning::PolicyChoiceOptions options;
    options.trigger = trigger;
    options.current_name = serving->facts().name;
    options.current_parameters = patches::CanarySplit::serving_parameters(plane_.cache->memory());
    options.policies = options_.policies;
    if (std::none_of(options.policies.begin(), options.policies.end(), [&](const auto &p) { return p.first == options.current_name; }))
        options.policies.emplace_back(options.current_name, serving);
    options.sizes = {std::to_string(plane_.capacity_bytes)};
    options.objective = options_.objective;
    options.history_requests = options_.history;
    auto report = learning::choose_policy(*plane_.db, *traffic, options);
    if (!report) {
        spdlog::error("learning: policy choice failed: {}", report.error().message());
        return false;
    }
    spdlog::warn("learning: cycle {} {}: {}", report->id, report->decision, report->why);
    if (!report->policy) return false;
    auto library = std::find_if(options.policies.begin(), options.policies.end(), [&](const auto &p) { return p.first == *report->policy; })->second;
    auto applied = canary_.apply(nlohmann::json::object(), "coordinator (cycle " + std::to_string(report->id) + ")", options_.canary, library);
    if (!applied && applied.error().code() == Errc::busy)
        spdlog::warn("learning: cycle {}'s policy waits for the next cycle: {}", report->id, applied.error().message());
    else if (!applied)
        spdlog::error("learning: cycle {}'s policy not applied: {}", report->id, applied.error().message());
    return bool(applied);
}

bool ServeCoordinator::encoder_cycle(const std::string &trigger) {
    patches::ModelCanary *models = nullptr;
    std::shared_ptr<const loader::PluginLibrary> encoder;
    {
        std::lock_guard lock(models_mutex_);
        models = models_;
        encoder = encoder_;
    }
    if (models == nullptr || options_.encoder_seconds == 0) return false;
    if (waiting_checkpoint_) { // trained earlier, found the canary taken: it goes on now, not trained again
        auto applied = models->apply(waiting_checkpoint_->second, fmt::format("coordinator (cycle {})", waiting_checkpoint_->first), options_.model_canary);
        if (!applied && applied.error().code() == Errc::busy) return false;
        if (!applied) spdlog::error("learning: checkpoint #{} not put on canary: {}", waiting_checkpoint_->second, applied.error().message());
        else spdlog::warn("learning: checkpoint #{} of cycle {} on canary", waiting_checkpoint_->second, waiting_checkpoint_->first);
        waiting_checkpoint_.reset();
        return bool(applied);
    }
    const std::filesystem::path judged_file = plane_.data / "learned-pairs.jsonl";
    if (!std::filesystem::exists(judged_file)) return false;
    auto judged = learning::read_pairs(judged_file);
    if (!judged) {
        spdlog::error("learning: the judged matches cannot be read: {}", judged.error().message());
        return false;
    }
    if (judged->size() < judged_at_last_encoder_cycle_ + options_.encoder_min_pairs) return false; // not enough new to learn from
    judged_at_last_encoder_cycle_ = judged->size();
    const std::string name = encoder->facts().name;
    store::LearningCycles cycles(*plane_.db);
    auto id = cycles.begin(trigger, fmt::format("train {} on {} judged matches", name, judged->size()));
    if (!id) {
        spdlog::error("learning: {}", id.error().message());
        return false;
    }
    auto finish = [&](const std::string &decision, const std::string &why, const nlohmann::json &detail) {
        if (Status kept = cycles.finish(*id, decision, why, detail.dump()); !kept) spdlog::error("learning: cycle {} not recorded: {}", *id, kept.message());
        spdlog::warn("learning: cycle {} {}: {}", *id, decision, why);
    };
    // Questions held out by connected component, so no held-out question was trained on.
    const learning::PairSplit split = learning::split_by_question(*judged, 0.2, 0.2, 1);
    learning::CheckpointTrainingOptions training;
    training.budget_ms = options_.encoder_seconds * 1000;
    training.target_false_hit_rate = options_.encoder_false_hits;
    training.created_by = fmt::format("coordinator (cycle {})", *id);
    training.trained_on = {{"pairs", judged_file.string()}, {"judged_matches", judged->size()}, {"split_seed", 1}};
    store::LearnerCheckpoints checkpoints(*plane_.db, plane_.data / "checkpoints");
    auto trained = learning::train_checkpoint(checkpoints, encoder, split, training);
    if (!trained) {
        finish("failed", trained.error().message(), nlohmann::json::object());
        return false;
    }
    const learning::OperatingPoint &before = trained->before.chosen, &after = trained->after.chosen;
    const double gain = 100 * (after.hit_rate - before.hit_rate);
    nlohmann::json detail = {{"checkpoint", trained->record.id}, {"before", learning::operating_point_json(before)},
                             {"after", learning::operating_point_json(after)}, {"gain_points", gain}, {"train", split.train.size()},
                             {"test", split.test.size()}};
    const std::string figures = fmt::format("held-out hits at <= {:.0f}% false hits {:.1f}% -> {:.1f}% ({:+.1f} points, {} paraphrases held out)",
                                            100 * options_.encoder_false_hits, 100 * before.hit_rate, 100 * after.hit_rate, gain, after.positives);
    if (after.positives < 20) {
        finish("kept", figures + ": too few held-out paraphrases to tell", detail);
        return false;
    }
    if (gain < options_.encoder_min_gain_points) {
        finish("kept", figures + fmt::format(": less than the {:.1f} points a change must bring", options_.encoder_min_gain_points), detail);
        return false;
    }
    auto applied = models->apply(trained->record.id, fmt::format("coordinator (cycle {})", *id), options_.model_canary);
    if (!applied && applied.error().code() == Errc::busy) { // another change is on canary: this one waits for the next cycle
        waiting_checkpoint_ = {*id, trained->record.id};
        finish("recommend", figures + fmt::format(": checkpoint #{} waits for the canary ({})", trained->record.id, applied.error().message()), detail);
        return false;
    }
    if (!applied) {
        finish("kept", figures + ": not put on canary: " + applied.error().message(), detail);
        return false;
    }
    finish("applied", figures + fmt::format(": checkpoint #{} on canary", trained->record.id), detail);
    return true;
}

bool ServeCoordinator::policy_cycle(const std::string &trigger) {
    const auto policy = patches::CanarySplit::serving_policy(plane_.cache->memory());
    const std::string serving = policy->facts().name;
    const std::string space = !options_.space.empty() && serving == policy_name_ ? options_.space : learning::known_tune_space(serving);
    if (space.empty()) {
        spdlog::info("learning: no known parameters to tune for {}: no tuning ({})", serving, trigger);
        return false;
    }
    auto traffic = recorded_traffic();
    if (!traffic) return false;
    learning::CycleOptions options;
    options.trigger = trigger;
    options.policy_name = serving;
    options.policy = policy;
    options.tuner = tuner_;
    options.space = space;
    options.current_parameters = patches::CanarySplit::serving_parameters(plane_.cache->memory());
    options.trials = options_.trials;
    options.history_requests = options_.history;
    options.cpu_seconds = options_.cpu_seconds;
    options.objective = options_.objective;
    options.sizes = {std::to_string(plane_.capacity_bytes)}; // the cache this host runs
    spdlog::info("learning: cycle started ({})", trigger);
    auto report = learning::run_cycle(*plane_.db, *traffic, options);
    if (!report) {
        spdlog::error("learning: cycle failed: {}", report.error().message());
        return false;
    }
    spdlog::warn("learning: cycle {} {}: {}", report->id, report->decision, report->why);
    if (!report->parameters) return false;
    auto applied = canary_.apply(nlohmann::json::parse(*report->parameters), "coordinator (cycle " + std::to_string(report->id) + ")", options_.canary);
    if (!applied && applied.error().code() == Errc::busy) // another change is on canary: the next cycle tries again
        spdlog::warn("learning: cycle {}'s parameters wait for the next cycle: {}", report->id, applied.error().message());
    else if (!applied)
        spdlog::error("learning: cycle {}'s parameters not applied: {}", report->id, applied.error().message());
    return bool(applied);
}

} // namespace aicache::cli
