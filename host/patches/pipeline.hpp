// The patch lifecycle on the knowledge repository: submit (validate and compile in the jit
// worker, then the trial against the incumbent), approve by rule or by signed operator
// decisions (M of N trusted operators), reject. Every step is recorded on the patch and appended
// to the audit log. Installing, canarying and rolling back approved patches come next.
#pragma once

#include "aicache/jit/worker_client.hpp"
#include "core/status.hpp"
#include "patches/audit.hpp"
#include "patches/signing.hpp"
#include "patches/trial.hpp"
#include "store/patch_records.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace aicache::patches {

struct SubmitOptions {
    std::string target = "s3fifo"; // the policy slot the patch would replace; also the trial's incumbent
    std::string against;           // the trial's incumbent when not the target (a name in the plugin directory, or a .so)
    std::string note;
    std::string who;
    jit::WorkerOptions worker = jit::WorkerOptions::beside_executable();
    TrialOptions trial = TrialOptions::defaults();
    // Approve without an operator when the trial's hit ratio beats the incumbent's by at least
    // this many percentage points at every size (and every check is green).
    std::optional<double> auto_approve_margin;
};

class PatchPipeline {
public:
    PatchPipeline(store::Database &db, std::filesystem::path data_dir);

    Expected<store::PatchRecord> submit(const jit::PatchSource &source, const SubmitOptions &options);
    // Approves an evaluated patch when its trial beat the incumbent by `margin_points` percentage
    // points of hit ratio at every size with no policy error; otherwise returns it unchanged.
    Expected<store::PatchRecord> approve_by_rule(int64_t id, double margin_points);
    // An operator's signed approval or rejection. The key must be trusted (<data>/operators/*.pub);
    // a patch becomes Approved when `required` distinct trusted operators have approved it.
    Expected<store::PatchRecord> decide(int64_t id, const OperatorKey &key, bool approve, const std::string &why, unsigned required);

    [[nodiscard]] std::filesystem::path object_path(const std::string &object_sha256) const;
    [[nodiscard]] std::filesystem::path operators_dir() const { return data_ / "operators"; }
    // Adds an operator's public key to the trusted set (and to the audit log).
    Status trust(const std::filesystem::path &public_key_file, const std::string &who);

    store::PatchRecords &records() { return records_; }
    AuditLog &audit() { return audit_; }

private:
    store::Database &db_;
    std::filesystem::path data_;
    store::PatchRecords records_;
    AuditLog audit_;
};

// What an operator signs: the patch, the exact source and object, and the decision.
std::string decision_statement(const store::PatchRecord &patch, const std::string &decision, const std::string &why);

} // namespace aicache::patches
