#include "patches/trial.hpp"

#include <algorithm>

#include "aicache/jit/allowlist.hpp"
#include "aicache/jit/patch_linker.hpp"
#include "aicache/jit/worker_client.hpp"
#include "core/hash.hpp"
#include "loader/policy_conformance.hpp"
#include "loader/qualify.hpp"
#include "replay/replay.hpp"

#include <aicache/sandbox/channel.hpp>
#include <aicache/sandbox/lockdown.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <new>
#include <unistd.h>

namespace aicache::patches {

namespace {
constexpr std::chrono::seconds kLeastWallTime{120}; // start-up and compile of a patch, whatever its replay
}

TrialOptions TrialOptions::defaults() {
    TrialOptions options;
    options.aicache_exe = loader::current_executable();
    options.allowlist = jit::WorkerOptions::beside_executable().allowlist; // one allowlist for the worker, the trial and the host
    options.plugin_dir = options.aicache_exe.parent_path().parent_path() / "lib" / "aicache" / "plugins";
    options.allow_cpu_seconds(kDefaultCpuSeconds);
    options.limits.address_space_bytes = 4ull << 30;
    options.limits.max_output_bytes = 1u << 20;
    return options;
}

void TrialOptions::allow_cpu_seconds(uint64_t seconds) {
    limits.cpu_seconds = seconds;
    // A trial's child is one thread: on a machine busy with another job it gets half its wall time.
    limits.wall_time = std::chrono::duration_cast<decltype(limits.wall_time)>(std::max(kLeastWallTime, std::chrono::seconds(2 * seconds)));
}

namespace {

std::string join(const std::vector<std::string> &parts) {
    std::string out;
    for (const auto &p : parts) out += (out.empty() ? "" : ",") + p;
    return out;
}

} // namespace

double gain_points(const nlohmann::json &c, const std::string &objective) {
    if (objective == "tokens") return 100 * (c.value("candidate_cost_hit_ratio", 0.0) - c.value("incumbent_cost_hit_ratio", 0.0));
    return 100 * (c.value("candidate_hit_ratio", 0.0) - c.value("incumbent_hit_ratio", 0.0));
}

TrialResult run_trial(const TrialOptions &options, std::string_view object, const std::string &label) {
    TrialResult result;
    std::string input;
    sandbox::append_frame(input, object);
    std::vector<std::string> argv = {options.aicache_exe.string(), "__trial",
                                     "--label", label,
                                     "--allowlist", options.allowlist.string(),
                                     "--incumbent", options.incumbent,
                                     "--plugins", options.plugin_dir.string(),
                                     "--sizes", join(options.sizes),
                                     "--requests", std::to_string(options.generated_requests),
                                     "--cpu-seconds", std::to_string(options.limits.cpu_seconds),
                                     "--memory-bytes", std::to_string(options.limits.address_space_bytes)};
    if (!options.trace.empty()) argv.insert(argv.end(), {"--trace", options.trace});
    if (!options.incumbent_parameters.empty()) argv.insert(argv.end(), {"--incumbent-parameters", options.incumbent_parameters});
    if (options.warm_share > 0) argv.insert(argv.end(), {"--warm-share", std::to_string(options.warm_share)});
    if (options.chunks > 0) argv.insert(argv.end(), {"--chunks", std::to_string(options.chunks)});
    sandbox::Result ran = sandbox::run(argv, options.limits, input);
    result.outcome = ran.outcome;
    result.reason = ran.reason;
    if (ran.outcome != sandbox::Outcome::ok) {
        if (std::string said = ran.last_words(); !said.empty()) result.reason += "; the trial said: " + said;
        return result;
    }
    nlohmann::json report = nlohmann::json::parse(ran.out, nullptr, false);
    if (report.is_discarded() || !report.is_object()) {
        result.outcome = sandbox::Outcome::failed;
        result.reason = "the trial's report is not JSON";
        return result;
    }
    result.linked = report.value("linked", false);
    result.conformant = report.value("conformant", false);
    result.failure = report.value("failure", "");
    result.candidate = report.value("candidate", "");
    result.trace_name = report.value("trace", "");
    result.link_ms = report.value("link_ms", 0.0);
    result.warm_requests = report.value("warm_requests", uint64_t(0));
    for (const auto &row : report.value("comparisons", nlohmann::json::array())) {
        TrialComparison c;
        c.size = row.value("size", "");
        c.capacity = row.value("capacity", uint64_t(0));
        c.objects = row.value("objects", false);
        c.requests = row.value("requests", uint64_t(0));
        c.candidate_hits = row.value("candidate_hits", uint64_t(0));
        c.incumbent_hits = row.value("incumbent_hits", uint64_t(0));
        c.cost_requested = row.value("cost_requested", uint64_t(0));
        c.candidate_cost_hits = row.value("candidate_cost_hits", uint64_t(0));
        c.incumbent_cost_hits = row.value("incumbent_cost_hits", uint64_t(0));
        c.candidate_policy_errors = row.value("candidate_policy_errors", uint64_t(0));
        c.candidate_chunk_hits = row.value("candidate_chunk_hits", std::vector<uint64_t>{});
        c.candidate_seconds = row.value("candidate_seconds", 0.0);
        c.incumbent_seconds = row.value("incumbent_seconds", 0.0);
        result.comparisons.push_back(c);
    }
    return result;
}

namespace {

int say(const nlohmann::json &report) {
    std::string line = report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return ::write(1, line.data(), line.size()) == static_cast<ssize_t>(line.size()) ? 0 : 3;
}

int setup_failure(const std::string &why) {
    std::fprintf(stderr, "aicache __trial: %s\n", why.c_str());
    return 2;
}

std::vector<std::string> split_commas(const std::string &text) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) parts.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return parts;
}

} // namespace

int trial_child_main(int argc, char **argv) {
    std::string label = "patch", allowlist_path, trace_path, incumbent_name = "lru", incumbent_parameters, plugins, sizes = "1%,10%";
    double warm_share = 0;
    uint64_t requests = 200'000, cpu_seconds = 60, memory_bytes = 4ull << 30;
    uint32_t chunks = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--label") label = value;
        else if (flag == "--allowlist") allowlist_path = value;
        else if (flag == "--trace") trace_path = value;
        else if (flag == "--incumbent") incumbent_name = value;
        else if (flag == "--incumbent-parameters") incumbent_parameters = value;
        else if (flag == "--warm-share") warm_share = std::clamp(std::strtod(value.c_str(), nullptr), 0.0, 0.95);
        else if (flag == "--plugins") plugins = value;
        else if (flag == "--sizes") sizes = value;
        else if (flag == "--requests") requests = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--cpu-seconds") cpu_seconds = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--memory-bytes") memory_bytes = std::strtoull(value.c_str(), nullptr, 10);
        else if (flag == "--chunks") chunks = static_cast<uint32_t>(std::min<uint64_t>(std::strtoull(value.c_str(), nullptr, 10), 1u << 16));
        else return setup_failure("unknown flag " + flag);
    }
    if (std::string why = sandbox::apply_limits(cpu_seconds, memory_bytes); !why.empty()) return setup_failure(why);
    sandbox::exit_on_out_of_memory();

    // Everything that needs the file system or the loader, while the child still may.
    auto allowlist = jit::Allowlist::load(allowlist_path);
    if (!allowlist) return setup_failure(allowlist.error().message());
    jit::PatchLinker::set_out_of_memory_handler(&sandbox::exit_out_of_memory);
    auto linker = jit::PatchLinker::create(*allowlist);
    if (!linker) return setup_failure(linker.error().message());
    std::filesystem::path incumbent_path = incumbent_name.find('/') != std::string::npos || incumbent_name.ends_with(".so")
                                               ? std::filesystem::path(incumbent_name)
                                               : std::filesystem::path(plugins) / (incumbent_name + ".so");
    auto incumbent = loader::PluginLibrary::load_file(incumbent_path);
    if (!incumbent) return setup_failure("incumbent: " + incumbent.error().message());
    Expected<replay::Trace> trace = Status(Errc::internal, "unset");
    if (trace_path.empty()) {
        replay::GeneratorOptions generator;
        generator.requests = requests;
        generator.objects = std::max<uint64_t>(requests / 10, 100);
        trace = replay::generate_workload(generator);
    } else {
        trace = replay::read_trace(trace_path);
    }
    if (!trace) return setup_failure(trace.error().message());
    std::vector<std::pair<std::string, replay::CacheSize>> capacities;
    for (const auto &size : split_commas(sizes)) {
        auto parsed = replay::parse_cache_size(size, *trace);
        if (!parsed) return setup_failure(parsed.error().message());
        capacities.emplace_back(size, *parsed);
    }

    if (std::string why = sandbox::close_descriptors_except({0, 1, 2}); !why.empty()) return setup_failure(why);
    if (std::string why = sandbox::SyscallFilter::compute_only().fail("ioctl", ENOTTY).install(); !why.empty()) return setup_failure(why);

    auto object = sandbox::read_frame(0, 256u << 20);
    if (!object) return setup_failure("no object file on stdin");
    nlohmann::json report = {{"trace", trace->name}, {"linked", false}, {"conformant", false}};
    auto link_started = std::chrono::steady_clock::now();
    auto linked = (*linker)->link(*object, label);
    if (!linked) {
        report["failure"] = linked.error().message();
        return say(report);
    }
    auto candidate = loader::PluginLibrary::from_entry(reinterpret_cast<aicache_plugin_init_fn>(linked->entry), linked->owner, label,
                                                       sha256_hex(*object));
    report["linked"] = true;
    report["link_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - link_started).count();
    if (!candidate) {
        report["failure"] = candidate.error().message();
        return say(report);
    }
    report["candidate"] = (*candidate)->facts().name_and_version();
    loader::ConformanceReport conformance = loader::run_policy_conformance(*candidate);
    if (!conformance.status) {
        report["failure"] = "conformance: " + conformance.status.message();
        return say(report);
    }
    report["conformant"] = true;
    report["checks"] = conformance.passed;
    if (!incumbent_parameters.empty()) report["incumbent_parameters"] = nlohmann::json::parse(incumbent_parameters, nullptr, false);
    // With a warm share, the cache runs the incumbent over that first part of the trace and then
    // swaps to the candidate, the way a host installs a patch; both sides are measured after the
    // swap only.
    const size_t warm = static_cast<size_t>(warm_share * double(trace->requests.size()));
    report["warm_requests"] = warm;
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &[label_of_size, size] : capacities) {
        replay::ReplayOptions options;
        options.capacity_bytes = size.amount;
        options.count_objects = size.objects;
        options.chunks = chunks;
        Expected<replay::ReplayResult> ours = Status(Errc::internal, "unset"), theirs = ours;
        if (warm == 0) {
            ours = replay::run_replay(*trace, *candidate, options);
            options.policy_parameters = incumbent_parameters;
            theirs = replay::run_replay(*trace, *incumbent, options);
        } else {
            options.engine = replay::Engine::cache; // a swap runs through the cache: both runs the same way
            options.policy_parameters = incumbent_parameters;
            options.measure_from = warm;
            theirs = replay::run_replay(*trace, *incumbent, options);
            options.swap_to = *candidate;
            options.swap_after = warm;
            ours = replay::run_replay(*trace, *incumbent, options);
        }
        if (!ours || !theirs) {
            report["conformant"] = false;
            report["failure"] = "replay: " + (!ours ? ours.error() : theirs.error()).message();
            return say(report);
        }
        rows.push_back({{"size", label_of_size},
                        {"capacity", size.amount},
                        {"objects", size.objects},
                        {"requests", ours->requests},
                        {"candidate_hits", ours->hits},
                        {"incumbent_hits", theirs->hits},
                        {"cost_requested", ours->cost_requested},
                        {"candidate_cost_hits", ours->cost_hit},
                        {"incumbent_cost_hits", theirs->cost_hit},
                        {"candidate_policy_errors", ours->policy_errors},
                        {"candidate_seconds", ours->seconds},
                        {"incumbent_seconds", theirs->seconds}});
        if (!ours->chunk_hits.empty()) rows.back()["candidate_chunk_hits"] = ours->chunk_hits;
    }
    report["comparisons"] = rows;
    return say(report);
}

} // namespace aicache::patches
