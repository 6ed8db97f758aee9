#include "patches/pipeline.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "store/plugin_versions.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace aicache::patches {

PatchPipeline::PatchPipeline(store::Database &db, std::filesystem::path data_dir)
    : db_(db), data_(std::move(data_dir)), records_(db), audit_(db) {}

std::filesystem::path PatchPipeline::object_path(const std::string &object_sha256) const {
    return data_ / "patches" / (object_sha256 + ".o");
}

std::string decision_statement(const store::PatchRecord &patch, const std::string &decision, const std::string &why) {
    return "aicache patch decision v1\npatch " + std::to_string(patch.id) + "\ntarget " + patch.target + "\nsource " + patch.source_sha256 +
           "\nobject " + patch.object_sha256 + "\ndecision " + decision + "\nwhy " + why + "\n";
}

namespace {

nlohmann::json trial_figures(const TrialResult &trial, replay::Objective objective) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &c : trial.comparisons)
        rows.push_back({{"size", c.size}, {"requests", c.requests}, {"candidate_hits", c.candidate_hits}, {"incumbent_hits", c.incumbent_hits},
                        {"candidate_hit_ratio", c.candidate_hit_ratio()}, {"incumbent_hit_ratio", c.incumbent_hit_ratio()},
                        {"candidate_cost_hit_ratio", c.candidate_cost_hit_ratio()}, {"incumbent_cost_hit_ratio", c.incumbent_cost_hit_ratio()},
                        {"candidate_policy_errors", c.candidate_policy_errors}});
    return {{"outcome", sandbox::to_string(trial.outcome)}, {"reason", trial.reason}, {"linked", trial.linked}, {"conformant", trial.conformant},
            {"failure", trial.failure}, {"candidate", trial.candidate}, {"trace", trial.trace_name}, {"objective", replay::to_string(objective)}, {"warm_requests", trial.warm_requests},
            {"comparisons", rows}};
}

} // namespace

Expected<store::PatchRecord> PatchPipeline::submit(const jit::PatchSource &source, const SubmitOptions &options) {
    store::PatchRecord patch;
    patch.target = options.target;
    patch.file_name = source.file_name;
    patch.note = options.note;
    patch.source = source.text;
    patch.source_sha256 = sha256_hex(source.text);
    patch.submitted_by = options.who;
    patch.submitted_at = store::utc_now_iso8601();
    auto inserted = records_.insert(patch);
    if (!inserted) return inserted.error();
    patch = *inserted;
    const std::string subject = "patch #" + std::to_string(patch.id);
    if (auto a = audit_.append(options.who, "submit", subject,
                               {{"file", patch.file_name}, {"target", patch.target}, {"source_sha256", patch.source_sha256}, {"note", patch.note}});
        !a)
        return a.error();

    nlohmann::json report;
    auto finish = [&](store::PatchState state, const std::string &action, const nlohmann::json &details) -> Expected<store::PatchRecord> {
        patch.state = state;
        patch.report = report.dump();
        if (Status updated = records_.update(patch); !updated) return updated;
        if (auto a = audit_.append("pipeline", action, subject, details); !a) return a.error();
        return patch;
    };

    jit::WorkerResult compiled = jit::run_worker(options.worker, source, jit::WorkerMode::compile);
    report["validation"] = {{"sandbox_outcome", sandbox::to_string(compiled.outcome)}, {"sandbox_reason", compiled.reason},
                            {"findings", compiled.report.findings}, {"compiler_log", compiled.report.compiler_log},
                            {"validate_ms", compiled.report.validate_ms}, {"compile_ms", compiled.report.compile_ms}};
    if (compiled.outcome != sandbox::Outcome::ok)
        return finish(store::PatchState::rejected, "reject", {{"stage", "sandbox"}, {"reason", sandbox::to_string(compiled.outcome) + std::string(": ") + compiled.reason}});
    if (!compiled.report.validated)
        return finish(store::PatchState::rejected, "reject", {{"stage", "validate"}, {"findings", compiled.report.findings.size()}});
    if (!compiled.report.compiled) return finish(store::PatchState::rejected, "reject", {{"stage", "compile"}});

    patch.object_sha256 = sha256_hex(compiled.report.object);
    std::error_code ec;
    std::filesystem::create_directories(object_path(patch.object_sha256).parent_path(), ec);
    if (Status saved = write_file_atomic(object_path(patch.object_sha256), compiled.report.object); !saved) return saved;
    patch.state = store::PatchState::validated;
    patch.report = report.dump();
    if (Status updated = records_.update(patch); !updated) return updated;
    if (auto a = audit_.append("pipeline", "validate", subject,
                               {{"object_sha256", patch.object_sha256}, {"object_bytes", compiled.report.object.size()}});
        !a)
        return a.error();

    TrialOptions trial_options = options.trial;
    trial_options.incumbent = options.against.empty() ? options.target : options.against;
    TrialResult trial = run_trial(trial_options, compiled.report.object, patch.file_name);
    report["trial"] = trial_figures(trial, trial_options.objective);
    if (!trial.passed())
        return finish(store::PatchState::rejected, "reject",
                      {{"stage", trial.outcome != sandbox::Outcome::ok ? "trial" : !trial.linked ? "link" : "conformance"},
                       {"reason", trial.outcome != sandbox::Outcome::ok ? trial.reason : trial.failure}});
    auto evaluated = finish(store::PatchState::evaluated, "evaluate", report["trial"]);
    if (!evaluated || !options.auto_approve_margin) return evaluated;
    return approve_by_rule(patch.id, *options.auto_approve_margin);
}

static bool wins_by_margin(const nlohmann::json &trial, double margin_points) {
    if (!trial.is_object() || !trial.contains("comparisons") || trial["comparisons"].empty()) return false;
    for (const auto &c : trial["comparisons"])
        if (c.value("candidate_policy_errors", uint64_t{1}) != 0 || gain_points(c, trial.value("objective", "hits")) < margin_points)
            return false;
    return true;
}

Expected<store::PatchRecord> PatchPipeline::approve_by_rule(int64_t id, double margin_points) {
    auto found = records_.get(id);
    if (!found) return found.error();
    store::PatchRecord patch = *found;
    // The rule: better by the margin at every size, with no policy error anywhere.
    nlohmann::json report = nlohmann::json::parse(patch.report, nullptr, false);
    if (patch.state != store::PatchState::evaluated || report.is_discarded() || !wins_by_margin(report.value("trial", nlohmann::json()), margin_points))
        return patch;
    patch.state = store::PatchState::approved;
    if (Status updated = records_.update(patch); !updated) return updated;
    auto logged = audit_.append("pipeline", "approve", "patch #" + std::to_string(id), {{"by", "rule"}, {"margin_points", margin_points}});
    if (!logged) return logged.error();
    return patch;
}

Expected<store::PatchRecord> PatchPipeline::decide(int64_t id, const OperatorKey &key, bool approve, const std::string &why, unsigned required) {
    auto trusted = trusted_keys(operators_dir());
    if (!trusted) return trusted.error();
    bool known = false;
    for (const auto &k : *trusted) known = known || k.key_hex == key.public_hex;
    if (!known)
        return Status(Errc::invalid_argument, "operator key \"" + key.name + "\" is not trusted by this host: `aicache operator trust " + key.name +
                                                  ".pub` first (trusted keys live in " + operators_dir().string() + ")");
    auto found = records_.get(id);
    if (!found) return found.error();
    store::PatchRecord patch = *found;
    const std::string decision = approve ? "approve" : "reject";
    if (approve && patch.state != store::PatchState::evaluated && patch.state != store::PatchState::approved)
        return Status(Errc::invalid_argument, "patch #" + std::to_string(id) + " is " + store::to_string(patch.state) +
                                                  ": only an evaluated patch can be approved");
    if (!approve && (patch.state == store::PatchState::rejected || patch.state == store::PatchState::retired))
        return Status(Errc::invalid_argument, "patch #" + std::to_string(id) + " is already " + store::to_string(patch.state));

    store::PatchDecision d;
    d.patch_id = id;
    d.operator_name = key.name;
    d.public_key = key.public_hex;
    d.decision = decision;
    d.why = why;
    d.signature = key.sign(decision_statement(patch, decision, why));
    d.at = store::utc_now_iso8601();
    if (Status added = records_.add_decision(d); !added) return added;

    if (!approve) {
        patch.state = store::PatchState::rejected;
    } else {
        // Count distinct trusted operators whose signature over this exact patch verifies.
        auto decisions = records_.decisions(id);
        if (!decisions) return decisions.error();
        std::set<std::string> approvers;
        for (const auto &past : *decisions) {
            bool is_trusted = false;
            for (const auto &k : *trusted) is_trusted = is_trusted || k.key_hex == past.public_key;
            if (past.decision == "approve" && is_trusted &&
                verify_signature(past.public_key, decision_statement(patch, "approve", past.why), past.signature))
                approvers.insert(past.public_key);
        }
        if (approvers.size() >= std::max(required, 1u)) patch.state = store::PatchState::approved;
    }
    if (Status updated = records_.update(patch); !updated) return updated;
    auto logged = audit_.append(key.name, decision, "patch #" + std::to_string(id),
                                {{"why", why}, {"source_sha256", patch.source_sha256}, {"object_sha256", patch.object_sha256},
                                 {"state", store::to_string(patch.state)}, {"required", required}},
                                &key);
    if (!logged) return logged.error();
    return patch;
}

Status PatchPipeline::trust(const std::filesystem::path &public_key_file, const std::string &who) {
    auto key = load_public_key(public_key_file);
    if (!key) return key.error();
    std::error_code ec;
    std::filesystem::create_directories(operators_dir(), ec);
    if (Status written = write_file_atomic(operators_dir() / (key->name + ".pub"),
                                           "aicache-operator-public-v1 " + key->name + " " + key->key_hex + "\n");
        !written)
        return written;
    auto logged = audit_.append(who, "trust-operator", key->name, {{"public_key", key->key_hex}});
    return logged ? Status::ok() : logged.error();
}

} // namespace aicache::patches
