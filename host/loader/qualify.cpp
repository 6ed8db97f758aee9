#include "loader/qualify.hpp"

#include "loader/plugin_library.hpp"
#include "loader/conformance.hpp"

#include <aicache/sandbox/runner.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <unistd.h>

namespace aicache::loader {

std::filesystem::path current_executable() {
    std::error_code ec;
    auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path("aicache") : path;
}

Verdict qualify_in_child(const std::filesystem::path &file, const QualifyOptions &options) {
    const std::string what = file.filename().string();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        return {Status(Errc::not_found, what + ": no such file"), ""};
    sandbox::Limits limits;
    limits.wall_time = options.timeout;
    limits.cpu_seconds = static_cast<uint64_t>(std::max<int64_t>(1, options.timeout.count() / 1000 + 1));
    sandbox::Result run = sandbox::run({options.aicache_exe.string(), "__qualify", std::filesystem::absolute(file).string(),
                                              std::to_string(limits.cpu_seconds)},
                                             limits);

    // The child's last stdout line is its verdict, when it lived long enough to write one.
    std::string last_line;
    size_t end = run.out.find_last_not_of('\n');
    if (end != std::string::npos) {
        size_t start = run.out.rfind('\n', end);
        last_line = run.out.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
    }
    nlohmann::json verdict = nlohmann::json::parse(last_line, nullptr, false);
    if (run.outcome == sandbox::Outcome::ok || (run.outcome == sandbox::Outcome::failed && verdict.is_object())) {
        if (!verdict.is_object()) return {Status(Errc::internal, what + ": qualification child wrote no verdict"), ""};
        if (verdict.value("ok", false)) return {Status::ok(), verdict.value("summary", what), verdict.value("sha256", "")};
        return {Status(Errc::plugin, verdict.value("reason", what + ": refused")), "", ""};
    }
    std::string hint;
    switch (run.outcome) {
    case sandbox::Outcome::timeout: hint = " (does a plugin call loop forever?)"; break;
    case sandbox::Outcome::crashed: hint = " while loading or under conformance calls (a plugin bug: it aborted or crashed)"; break;
    case sandbox::Outcome::resource: hint = " (CPU or memory limit)"; break;
    default: break;
    }
    std::string stderr_tail = run.err.size() > 300 ? run.err.substr(run.err.size() - 300) : run.err;
    while (!stderr_tail.empty() && stderr_tail.back() == '\n') stderr_tail.pop_back();
    std::string message = what + ": " + run.to_string() + hint;
    if (!stderr_tail.empty()) message += "; child stderr: " + stderr_tail;
    Errc code = run.outcome == sandbox::Outcome::timeout ? Errc::timeout : Errc::plugin;
    return {Status(code, message), "", ""};
}

int qualification_child_main(const std::filesystem::path &file, uint64_t cpu_seconds) {
    auto say = [](const nlohmann::json &verdict) {
        std::string line = verdict.dump() + "\n";
        (void)!::write(1, line.data(), line.size());
    };
    if (std::string failed = sandbox::apply_limits(cpu_seconds, 4ull << 30); !failed.empty()) {
        say({{"ok", false}, {"reason", "cannot apply limits: " + failed}});
        return 1;
    }
    const std::string what = file.filename().string();
    auto library = PluginLibrary::load_file(file);
    if (!library) {
        say({{"ok", false}, {"reason", library.error().message()}});
        return 1;
    }
    const PluginFacts &facts = (*library)->facts();
    ConformanceReport report = run_conformance(*library);
    if (!report.status) {
        say({{"ok", false}, {"reason", what + " (" + facts.name_and_version() + "): " + report.status.message()}});
        return 1;
    }
    std::string summary = facts.name_and_version() + " (" + kind_name(facts.kind) + ", ABI " +
                          std::to_string(facts.abi_major) + "." + std::to_string(facts.abi_minor) + ", sha256 " +
                          facts.content_hash.substr(0, 12) + "): " + std::to_string(report.passed.size()) +
                          " conformance checks passed";
    say({{"ok", true}, {"summary", summary}, {"name", facts.name}, {"version", facts.version}, {"sha256", facts.content_hash},
         {"checks", report.passed}});
    return 0;
}

} // namespace aicache::loader
