// `aicache patch check FILE.cpp`: runs a patch through the first stages of the patch pipeline
// (validation with the allowlist's rules, then, with --object, a compile to an object file), both
// inside the sandboxed jit worker. Nothing the patch contains can touch the host.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/files.hpp"
#include "patches/generator.hpp"
#include "patches/trial.hpp"
#include "replay/replay.hpp"

#include "aicache/jit/worker_client.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

namespace aicache::cli {
namespace {

struct CheckArgs {
    std::string file;
    std::string object_out; // write the compiled object here (implies compiling)
    bool json = false;
    double timeout_seconds = 60;
    uint64_t cpu_seconds = 30;
    std::string memory = "3GiB";
    bool trial = false;
    std::string trace;
    std::string against = "lru";
    std::vector<std::string> sizes = {"1%", "10%"};
    uint64_t trial_cpu_seconds = patches::TrialOptions::kDefaultCpuSeconds;
};

nlohmann::json trial_json(const patches::TrialResult &trial) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &c : trial.comparisons)
        rows.push_back({{"size", c.size},
                        {"capacity", c.capacity},
                        {"objects", c.objects},
                        {"requests", c.requests},
                        {"candidate_hits", c.candidate_hits},
                        {"incumbent_hits", c.incumbent_hits},
                        {"candidate_hit_ratio", c.candidate_hit_ratio()},
                        {"incumbent_hit_ratio", c.incumbent_hit_ratio()},
                        {"candidate_policy_errors", c.candidate_policy_errors}});
    return {{"outcome", sandbox::to_string(trial.outcome)}, {"reason", trial.reason}, {"linked", trial.linked},
            {"conformant", trial.conformant}, {"failure", trial.failure}, {"candidate", trial.candidate}, {"link_ms", trial.link_ms},
            {"trace", trial.trace_name}, {"comparisons", rows}};
}

int check(const CheckArgs &args) {
    auto text = read_file(args.file);
    if (!text) return fail(text.error());
    jit::PatchSource source;
    source.file_name = std::filesystem::path(args.file).filename().string();
    source.text = std::move(*text);
    const bool compile = !args.object_out.empty() || args.trial;
    jit::WorkerOptions options = jit::WorkerOptions::beside_executable();
    options.limits.wall_time = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_seconds * 1000));
    options.limits.cpu_seconds = args.cpu_seconds;
    auto memory = replay::parse_capacity(args.memory, 0);
    if (!memory) return fail(memory.error().with_context("--memory"));
    options.limits.address_space_bytes = *memory;
    jit::WorkerResult result = jit::run_worker(options, source, compile ? jit::WorkerMode::compile : jit::WorkerMode::validate);
    const jit::CompileReport &report = result.report;
    const bool sandbox_ok = result.outcome == sandbox::Outcome::ok;
    bool accepted = sandbox_ok && report.validated && (!compile || report.compiled);
    if (accepted && !args.object_out.empty())
        if (Status written = write_file_atomic(args.object_out, report.object); !written) return fail(written);

    patches::TrialResult trial;
    if (accepted && args.trial) {
        patches::TrialOptions trial_options = patches::TrialOptions::defaults();
        trial_options.trace = args.trace;
        trial_options.incumbent = args.against;
        trial_options.sizes = args.sizes;
        trial_options.limits.cpu_seconds = args.trial_cpu_seconds; // its wall time is --timeout
        trial_options.limits.wall_time = std::chrono::milliseconds(static_cast<int64_t>(args.timeout_seconds * 1000));
        trial_options.limits.address_space_bytes = *memory;
        trial = patches::run_trial(trial_options, report.object, source.file_name);
        accepted = trial.passed();
    }
    const char *stage = !sandbox_ok                            ? "sandbox"
                        : !report.validated                    ? "validate"
                        : compile && !report.compiled          ? "compile"
                        : !args.trial                          ? "done"
                        : trial.outcome != sandbox::Outcome::ok ? "trial-sandbox"
                        : !trial.linked                        ? "link"
                        : !trial.conformant                    ? "conformance"
                                                               : "done";

    if (args.json) {
        nlohmann::json out = {{"file", args.file},
                              {"accepted", accepted},
                              {"stage", stage},
                              {"sandbox_outcome", sandbox::to_string(result.outcome)},
                              {"sandbox_reason", result.reason},
                              {"findings", report.findings},
                              {"validate_ms", report.validate_ms},
                              {"compile_ms", report.compile_ms},
                              {"object_bytes", report.object.size()},
                              {"compiler_log", report.compiler_log}};
        if (args.trial) out["trial"] = trial_json(trial);
        std::printf("%s\n", out.dump(2).c_str());
        return accepted ? 0 : 1;
    }
    if (!sandbox_ok) {
        std::printf("%s: stopped in the sandbox: %s: %s\n", source.file_name.c_str(), sandbox::to_string(result.outcome), result.reason.c_str());
        return 1;
    }
    if (!report.validated) {
        std::printf("%s: refused (%zu finding%s)\n", source.file_name.c_str(), report.findings.size(), report.findings.size() == 1 ? "" : "s");
        for (const auto &finding : report.findings) std::printf("  %s\n", finding.to_string().c_str());
        return 1;
    }
    if (compile && !report.compiled) {
        std::printf("%s: valid, but the compile failed\n%s", source.file_name.c_str(), report.compiler_log.c_str());
        return 1;
    }
    std::printf("%s: valid (%.0f ms)", source.file_name.c_str(), report.validate_ms);
    if (compile) std::printf("; compiled, %zu bytes (%.0f ms)", report.object.size(), report.compile_ms);
    if (!args.object_out.empty()) std::printf("; object in %s", args.object_out.c_str());
    std::printf("\n");
    if (!args.trial) return 0;
    if (trial.outcome != sandbox::Outcome::ok) {
        std::printf("trial: stopped in the sandbox: %s: %s\n", sandbox::to_string(trial.outcome), trial.reason.c_str());
        return 1;
    }
    if (!trial.passed()) {
        std::printf("trial: %s: %s\n", stage, trial.failure.c_str());
        return 1;
    }
    std::printf("trial: %s linked (%.1f ms) and passed conformance; replayed %s against %s:\n", trial.candidate.c_str(), trial.link_ms,
                trial.trace_name.c_str(), args.against.c_str());
    std::printf("  %-8s %12s %12s %12s %10s\n", "size", "requests", "patch hit%", "incumbent%", "change");
    for (const auto &c : trial.comparisons)
        std::printf("  %-8s %12llu %11.2f%% %11.2f%% %+9.2f%%\n", c.size.c_str(), static_cast<unsigned long long>(c.requests),
                    100 * c.candidate_hit_ratio(), 100 * c.incumbent_hit_ratio(), 100 * (c.candidate_hit_ratio() - c.incumbent_hit_ratio()));
    return 0;
}

struct GenerateArgs {
    std::string name, out;
    std::vector<std::string> sets; // NAME=VALUE
};

int generate(const GenerateArgs &args) {
    auto loaded = patches::PatchTemplate::load(patches::templates_dir() / (args.name + ".cpp.in"));
    if (!loaded) return fail(loaded.error().with_context("template " + args.name + " (see `aicache patch templates`)"));
    std::map<std::string, std::string> values;
    for (const auto &set : args.sets) {
        size_t eq = set.find('=');
        if (eq == std::string::npos) return fail(Status(Errc::invalid_argument, "--set " + set + ": expected NAME=VALUE"));
        values[set.substr(0, eq)] = set.substr(eq + 1);
    }
    auto source = loaded->instantiate(values);
    if (!source) return fail(source.error());
    if (args.out.empty() || args.out == "-") {
        std::fwrite(source->data(), 1, source->size(), stdout);
        return 0;
    }
    if (Status written = write_file_atomic(args.out, *source); !written) return fail(written);
    std::printf("wrote %s\n", args.out.c_str());
    return 0;
}

int list_templates() {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(patches::templates_dir(), ec)) {
        auto t = patches::PatchTemplate::load(entry.path());
        if (!t) continue;
        std::printf("%s\n", t->name.c_str());
        for (const auto &p : t->parameters) {
            if (p.expression) {
                std::string ids;
                for (const auto &id : p.identifiers) ids += " " + id;
                std::printf("  %-20s %-8s over%s, default %s\n", p.name.c_str(), "expression", ids.c_str(), p.default_expression.c_str());
                continue;
            }
            if (p.policy_kind != patches::TemplateParameter::Policies::none) {
                const bool mask = p.policy_kind == patches::TemplateParameter::Policies::mask;
                std::string names;
                for (size_t i = 0; i < p.policies.size(); ++i)
                    names += fmt::format(" {}={}", p.policies[i], mask ? (1u << i) : i + 1);
                std::printf("  %-20s %-8s%s%s, default %g\n", p.name.c_str(), mask ? "policies" : "policy", names.c_str(),
                            mask ? " (names joined by +, or the sum)" : " (0: none of them)", p.fallback);
                continue;
            }
            std::printf("  %-20s %-8s [%g, %g], default %g\n", p.name.c_str(), p.integer ? "integer" : "number", p.min, p.max, p.fallback);
        }
    }
    if (ec) return fail(Status(Errc::not_found, patches::templates_dir().string() + ": " + ec.message()));
    return 0;
}

} // namespace

void register_patch(CLI::App &app) {
    CLI::App *patch = app.add_subcommand("patch", "The patch pipeline: check, submit, review and decide on C++ policy patches");
    patch->require_subcommand(1);
    patch->fallthrough(); // --data may follow the subcommand too
    register_patch_lifecycle(*patch);
    auto args = std::make_shared<CheckArgs>();
    CLI::App *check_cmd = patch->add_subcommand("check", "Validate FILE.cpp against the patch rules (and compile it with --object) in the sandboxed jit worker");
    check_cmd->add_option("file", args->file, "The patch: one C++ file implementing a policy with AICACHE_POLICY_PLUGIN")->required();
    check_cmd->add_option("--object", args->object_out, "Also compile it, and write the object file here");
    check_cmd->add_flag("--json", args->json, "Print the report as JSON");
    check_cmd->add_option("--timeout", args->timeout_seconds, "Wall-clock seconds the worker may take")->capture_default_str();
    check_cmd->add_option("--cpu-seconds", args->cpu_seconds, "CPU seconds the worker may use")->capture_default_str();
    check_cmd->add_option("--memory", args->memory, "Address space the worker (and the trial) may map")->capture_default_str();
    check_cmd->add_flag("--trial", args->trial,
                        "Also link the compiled patch in a locked-down child, run the conformance suite, and replay traffic against --against");
    check_cmd->add_option("--trace", args->trace, "Trial traffic: a trace file or a data directory's request log (default: generated)");
    check_cmd->add_option("--against", args->against, "Trial incumbent policy (name or .so)")->capture_default_str();
    check_cmd->add_option("--size", args->sizes, "Trial cache sizes, as for replay")->delimiter(',')->capture_default_str();
    check_cmd->add_option("--trial-cpu-seconds", args->trial_cpu_seconds, "CPU seconds the trial may use")->capture_default_str();
    on_callback(check_cmd, [args] { return check(*args); });

    auto gen = std::make_shared<GenerateArgs>();
    CLI::App *generate_cmd = patch->add_subcommand("generate", "Write a patch from a policy template the host owns, with parameters filled in");
    generate_cmd->add_option("template", gen->name, "Template name (aicache patch templates)")->required();
    generate_cmd->add_option("--set", gen->sets, "NAME=VALUE (repeatable); unset parameters take their defaults");
    generate_cmd->add_option("-o,--out", gen->out, "Output file (default: stdout)");
    on_callback(generate_cmd, [gen] { return generate(*gen); });
    CLI::App *templates_cmd = patch->add_subcommand("templates", "The patch templates and their parameters");
    on_callback(templates_cmd, [] { return list_templates(); });
}

} // namespace aicache::cli
