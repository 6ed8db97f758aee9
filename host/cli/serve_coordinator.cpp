#include "cli/serve_coordinator.hpp"

#include "core/log.hpp"
#include "learning/coordinator.hpp"
#include "learning/drift_test.hpp"
#include "replay/trace.hpp"
#include "store/monitor_windows.hpp"

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
    // Linux schedules threads as processes: this one alone runs at nice 10.
    (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
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

bool ServeCoordinator::cycle(const std::string &trigger) {
    const std::string space = options_.space.empty() ? learning::known_tune_space(policy_name_) : options_.space;
    if (space.empty()) {
        spdlog::warn("learning: no known parameters to tune for {}: no cycle ({})", policy_name_, trigger);
        return false;
    }
    if (log_ != nullptr) log_->flush();
    auto traffic = replay::read_request_logs(learning::request_log_files(plane_.data));
    if (!traffic) {
        spdlog::error("learning: the recorded traffic cannot be read: {}", traffic.error().message());
        return false;
    }
    learning::CycleOptions options;
    options.trigger = trigger;
    options.policy_name = policy_name_;
    options.policy = plane_.cache->memory().policy();
    options.tuner = tuner_;
    options.space = space;
    // The last shard is never a canary shard (patches/canary_split): it runs what the host serves with.
    const std::string current = plane_.cache->memory().shard_parameters(plane_.cache->memory().shard_count() - 1);
    options.current_parameters = current.empty() ? "{}" : current;
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
