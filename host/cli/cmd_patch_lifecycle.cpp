// `aicache patch submit | list | show | diff | approve | reject`: the patch lifecycle against the
// data directory's knowledge repository (SQLite). Submitting runs the whole pipeline up to the
// trial; approving and rejecting are signed with the operator's key.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/repository.hpp"
#include "core/files.hpp"
#include "patches/pipeline.hpp"
#include "replay/replay.hpp"
#include "server/control_socket.hpp"

#include <aicache/sandbox/runner.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct LifecycleArgs {
    std::string data;
    // submit
    std::string file, target = "s3fifo", note, trace, against;
    std::vector<std::string> sizes = {"1%", "10%"};
    double auto_approve_margin = -1; // < 0: operators decide
    uint64_t cpu_seconds = 30, trial_cpu_seconds = patches::TrialOptions::kDefaultCpuSeconds;
    std::string memory = "3GiB";
    // show, diff, approve, reject
    int64_t id = 0;
    std::string key, why;
    unsigned required = 1;
    bool json = false;
    // install
    double share = 0.25, margin = 2.0;
    uint64_t window = 2000;
};

nlohmann::json patch_json(const store::PatchRecord &p, bool with_source) {
    nlohmann::json out = {{"id", p.id},
                          {"target", p.target},
                          {"file", p.file_name},
                          {"note", p.note},
                          {"state", store::to_string(p.state)},
                          {"source_sha256", p.source_sha256},
                          {"object_sha256", p.object_sha256},
                          {"submitted_by", p.submitted_by},
                          {"submitted_at", p.submitted_at},
                          {"report", nlohmann::json::parse(p.report, nullptr, false)}};
    if (with_source) out["source"] = p.source;
    return out;
}

void print_trial(const nlohmann::json &report) {
    if (!report.is_object() || !report.contains("trial")) return;
    const auto &trial = report["trial"];
    if (trial.value("outcome", "") != "ok" || !trial.value("conformant", false)) {
        std::printf("  trial: %s %s%s\n", trial.value("outcome", "").c_str(), trial.value("reason", "").c_str(), trial.value("failure", "").c_str());
        return;
    }
    std::printf("  trial on %s:\n", trial.value("trace", "").c_str());
    for (const auto &c : trial["comparisons"])
        std::printf("    %-6s patch %6.2f%%  incumbent %6.2f%%  (%+.2f points)\n", c.value("size", "").c_str(), 100 * c.value("candidate_hit_ratio", 0.0),
                    100 * c.value("incumbent_hit_ratio", 0.0), 100 * (c.value("candidate_hit_ratio", 0.0) - c.value("incumbent_hit_ratio", 0.0)));
}

void print_findings(const nlohmann::json &report) {
    if (!report.is_object() || !report.contains("validation")) return;
    const auto &v = report["validation"];
    if (v.value("sandbox_outcome", "ok") != "ok") std::printf("  stopped in the sandbox: %s: %s\n", v.value("sandbox_outcome", "").c_str(), v.value("sandbox_reason", "").c_str());
    for (const auto &f : v.value("findings", nlohmann::json::array())) {
        jit::Finding finding = f.get<jit::Finding>();
        std::printf("  %s\n", finding.to_string().c_str());
    }
}

int submit(const LifecycleArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto text = read_file(args.file);
    if (!text) return fail(text.error());
    jit::PatchSource source{std::filesystem::path(args.file).filename().string(), *text};
    patches::SubmitOptions options;
    options.target = args.target;
    options.note = args.note;
    options.against = args.against;
    options.who = current_user();
    options.trial.trace = args.trace;
    options.trial.sizes = args.sizes;
    if (args.auto_approve_margin >= 0) options.auto_approve_margin = args.auto_approve_margin;
    auto memory = replay::parse_capacity(args.memory, 0);
    if (!memory) return fail(memory.error().with_context("--memory"));
    options.worker.limits.cpu_seconds = args.cpu_seconds;
    options.worker.limits.address_space_bytes = *memory;
    options.trial.allow_cpu_seconds(args.trial_cpu_seconds);
    options.trial.limits.address_space_bytes = *memory;
    auto patch = repo->pipeline->submit(source, options);
    if (!patch) return fail(patch.error());
    nlohmann::json report = nlohmann::json::parse(patch->report, nullptr, false);
    if (args.json) {
        std::printf("%s\n", patch_json(*patch, false).dump(2).c_str());
    } else {
        std::printf("patch #%lld (%s for %s): %s\n", static_cast<long long>(patch->id), patch->file_name.c_str(), patch->target.c_str(),
                    store::to_string(patch->state));
        print_findings(report);
        print_trial(report);
    }
    return patch->state == store::PatchState::rejected ? 1 : 0;
}

int list(const LifecycleArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto all = repo->pipeline->records().list();
    if (!all) return fail(all.error());
    if (args.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &p : *all) out.push_back(patch_json(p, false));
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("%-5s %-10s %-12s %-28s %-12s %-20s %s\n", "id", "state", "target", "file", "source", "submitted", "by");
    for (const auto &p : *all)
        std::printf("%-5lld %-10s %-12s %-28s %-12s %-20s %s\n", static_cast<long long>(p.id), store::to_string(p.state), p.target.c_str(),
                    p.file_name.c_str(), p.source_sha256.substr(0, 12).c_str(), p.submitted_at.c_str(), p.submitted_by.c_str());
    return 0;
}

int show(const LifecycleArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto patch = repo->pipeline->records().get(args.id);
    if (!patch) return fail(patch.error());
    auto decisions = repo->pipeline->records().decisions(args.id);
    if (!decisions) return fail(decisions.error());
    if (args.json) {
        nlohmann::json out = patch_json(*patch, true);
        out["decisions"] = nlohmann::json::array();
        for (const auto &d : *decisions)
            out["decisions"].push_back({{"operator", d.operator_name}, {"decision", d.decision}, {"why", d.why}, {"at", d.at}, {"public_key", d.public_key}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("patch #%lld: %s\n  file %s, target %s, submitted %s by %s\n  source sha256 %s\n  object sha256 %s\n",
                static_cast<long long>(patch->id), store::to_string(patch->state), patch->file_name.c_str(), patch->target.c_str(),
                patch->submitted_at.c_str(), patch->submitted_by.c_str(), patch->source_sha256.c_str(),
                patch->object_sha256.empty() ? "(none)" : patch->object_sha256.c_str());
    if (!patch->note.empty()) std::printf("  note: %s\n", patch->note.c_str());
    nlohmann::json report = nlohmann::json::parse(patch->report, nullptr, false);
    print_findings(report);
    print_trial(report);
    for (const auto &d : *decisions)
        std::printf("  %s by %s at %s%s%s\n", d.decision.c_str(), d.operator_name.c_str(), d.at.c_str(), d.why.empty() ? "" : ": ", d.why.c_str());
    return 0;
}

// A unified diff against the patch submitted before it for the same target (or against nothing).
int diff(const LifecycleArgs &args) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto patch = repo->pipeline->records().get(args.id);
    if (!patch) return fail(patch.error());
    auto previous = repo->pipeline->records().previous_for_target(*patch);
    if (!previous) return fail(previous.error());
    char directory_template[] = "/tmp/aicache-diff-XXXXXX";
    if (::mkdtemp(directory_template) == nullptr) return fail(Status(Errc::io, "cannot make a temporary directory"));
    std::filesystem::path dir = directory_template;
    const std::string old_label = *previous ? "#" + std::to_string((*previous)->id) + "/" + (*previous)->file_name : "/dev/null";
    const std::string new_label = "#" + std::to_string(patch->id) + "/" + patch->file_name;
    (void)write_file_atomic(dir / "old", *previous ? (*previous)->source : std::string());
    (void)write_file_atomic(dir / "new", patch->source);
    sandbox::Limits limits;
    limits.max_output_bytes = 64u << 20;
    sandbox::Result ran = sandbox::run({"/usr/bin/diff", "-u", "--label", old_label, "--label", new_label, (dir / "old").string(), (dir / "new").string()}, limits);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (ran.outcome != sandbox::Outcome::ok && ran.exit_code != 1) return fail(Status(Errc::internal, "diff: " + ran.to_string() + " " + ran.err));
    std::fwrite(ran.out.data(), 1, ran.out.size(), stdout);
    return 0;
}

int decide(const LifecycleArgs &args, bool approve) {
    auto repo = open_repository(args.data);
    if (!repo) return fail(repo.error());
    auto key = patches::OperatorKey::load(args.key);
    if (!key) return fail(key.error());
    auto patch = repo->pipeline->decide(args.id, *key, approve, args.why, args.required);
    if (!patch) return fail(patch.error());
    std::printf("patch #%lld: %s by %s recorded (signed); the patch is now %s\n", static_cast<long long>(patch->id), approve ? "approval" : "rejection",
                key->name.c_str(), store::to_string(patch->state));
    return 0;
}

// install, rollback and status act on a running host, through its control socket.
int host_request(const LifecycleArgs &args, nlohmann::json request) {
    request["who"] = current_user();
    const auto socket = data_dir(args.data) / "control.sock";
    auto answer = server::control_request(socket, request);
    if (!answer && answer.error().code() == Errc::not_found)
        return fail(Status(Errc::not_found, "no host is running on " + data_dir(args.data).string() +
                                                ": patches are installed into a running host (aicache serve --data DIR)"));
    if (!answer) return fail(answer.error());
    nlohmann::json reply = nlohmann::json::parse(*answer, nullptr, false);
    std::printf("%s\n", reply.is_discarded() ? answer->c_str() : reply.dump(2).c_str());
    return 0;
}

} // namespace

void register_patch_lifecycle(CLI::App &patch) {
    auto args = std::make_shared<LifecycleArgs>();
    patch.add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");

    CLI::App *submit_cmd = patch.add_subcommand("submit", "Submit FILE.cpp: validate and compile in the sandbox, trial against the target, record it");
    submit_cmd->add_option("file", args->file, "The patch")->required();
    submit_cmd->add_option("--target", args->target, "The policy slot it would replace (also the trial's incumbent)")->capture_default_str();
    submit_cmd->add_option("--note", args->note, "Why this patch");
    submit_cmd->add_option("--against", args->against, "The trial's incumbent, when not the target (policy name or .so)");
    submit_cmd->add_option("--trace", args->trace, "Trial traffic: a trace file or data directory (default: generated)");
    submit_cmd->add_option("--size", args->sizes, "Trial cache sizes")->delimiter(',')->capture_default_str();
    submit_cmd->add_option("--auto-approve-margin", args->auto_approve_margin,
                           "Approve by rule when the trial beats the target by this many hit-ratio points at every size");
    submit_cmd->add_flag("--json", args->json, "Print the record as JSON");
    submit_cmd->add_option("--cpu-seconds", args->cpu_seconds, "CPU seconds the compile may use")->capture_default_str();
    submit_cmd->add_option("--trial-cpu-seconds", args->trial_cpu_seconds, "CPU seconds the trial may use")->capture_default_str();
    submit_cmd->add_option("--memory", args->memory, "Address space the compile and the trial may map")->capture_default_str();
    on_callback(submit_cmd, [args] { return submit(*args); });

    CLI::App *list_cmd = patch.add_subcommand("list", "Every patch, newest first");
    list_cmd->add_flag("--json", args->json, "JSON");
    on_callback(list_cmd, [args] { return list(*args); });

    CLI::App *show_cmd = patch.add_subcommand("show", "One patch: state, hashes, findings, trial figures, decisions");
    show_cmd->add_option("id", args->id, "Patch id")->required();
    show_cmd->add_flag("--json", args->json, "JSON (with the source)");
    on_callback(show_cmd, [args] { return show(*args); });

    CLI::App *diff_cmd = patch.add_subcommand("diff", "Unified diff against the previous patch for the same target");
    diff_cmd->add_option("id", args->id, "Patch id")->required();
    on_callback(diff_cmd, [args] { return diff(*args); });

    for (bool approve : {true, false}) {
        CLI::App *cmd = patch.add_subcommand(approve ? "approve" : "reject",
                                             approve ? "Approve an evaluated patch, signed with your operator key" : "Reject a patch, signed with your operator key");
        cmd->add_option("id", args->id, "Patch id")->required();
        cmd->add_option("--key", args->key, "Your operator secret key (aicache operator keygen)")->required();
        if (approve) {
            cmd->add_option("--why", args->why, "A note for the record");
            cmd->add_option("--required", args->required, "Distinct trusted operators whose approval makes it Approved (M of N)")->capture_default_str();
        } else {
            cmd->add_option("--why", args->why, "Why it is rejected")->required();
        }
        on_callback(cmd, [args, approve] { return decide(*args, approve); });
    }

    CLI::App *install_cmd = patch.add_subcommand("install", "Install an approved patch into the running host: canary first, then every shard");
    install_cmd->add_option("id", args->id, "Patch id")->required();
    install_cmd->add_option("--share", args->share, "Share of the shards the canary runs on")->capture_default_str();
    install_cmd->add_option("--window", args->window, "Lookups each side must see before the verdict")->capture_default_str();
    install_cmd->add_option("--margin", args->margin, "Hit-ratio points the canary may trail the other shards by")->capture_default_str();
    on_callback(install_cmd, [args] {
        return host_request(*args, {{"op", "patch.install"}, {"id", args->id}, {"share", args->share}, {"window", args->window}, {"margin", args->margin}});
    });
    CLI::App *rollback_cmd = patch.add_subcommand("rollback", "Take an installed (canary or active) patch out of the running host at once");
    rollback_cmd->add_option("id", args->id, "Patch id")->required();
    on_callback(rollback_cmd, [args] { return host_request(*args, {{"op", "patch.rollback"}, {"id", args->id}}); });
    CLI::App *status_cmd = patch.add_subcommand("status", "What the running host has installed, and the canary's figures");
    on_callback(status_cmd, [args] { return host_request(*args, {{"op", "patch.status"}}); });
}

} // namespace aicache::cli
