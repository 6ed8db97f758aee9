// `aicache learner train | list | rollback | gc`: a learner's models as versions in the knowledge
// repository. `train` continues from the active checkpoint (or from scratch) on labelled pairs,
// measures held-out matching before and after on questions it never trains on, records the new
// checkpoint, and makes it active only if it is not worse; `rollback` activates an older one.
// serve and exec load the active checkpoint at their start.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/replay_table.hpp"
#include "core/hash.hpp"
#include "core/files.hpp"
#include "learning/pairs.hpp"
#include "learning/checkpoint_training.hpp"
#include "learning/semantic_eval.hpp"
#include "loader/learner_instance.hpp"
#include "patches/audit.hpp"
#include "server/control_socket.hpp"
#include "store/learner_checkpoints.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace aicache::cli {
namespace {

struct LearnerArgs {
    std::string data, plugins, learner, pairs, config = "{}", activate = "if-better";
    double budget_seconds = 60, target = 0.02, confidence_z = 1.645, validation_share = 0.1, test_share = 0.1;
    uint64_t limit = 0, seed = 1;
    int64_t to = 0;
    size_t keep = 3;
    bool scratch = false, json = false;
    // learner canary
    double share = 0.5, margin = 2.0, latency_ratio = 1.5;
    uint64_t window = 200, probation = 1;
    bool status = false, stop = false;
};

// The knowledge repository as these commands use it: checkpoints, and the audit log every change goes to.
struct Knowledge {
    std::unique_ptr<store::Database> db;
    std::unique_ptr<store::LearnerCheckpoints> checkpoints;
    std::unique_ptr<patches::AuditLog> audit;
};

Expected<Knowledge> open_knowledge(const std::string &data_flag) {
    std::filesystem::path data = data_dir(data_flag);
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return db.error();
    Knowledge k;
    k.db = std::move(*db);
    k.checkpoints = std::make_unique<store::LearnerCheckpoints>(*k.db, data / "checkpoints");
    k.audit = std::make_unique<patches::AuditLog>(*k.db);
    return k;
}


std::string percent(const learning::OperatingPoint &p) {
    return fmt::format("{:.1f}% hits at {:.2f}% false", 100 * p.hit_rate, 100 * p.false_hit_rate);
}

// A host serving this data directory loads the newly active checkpoint now; without one, serve
// and exec load it at their next start.
std::string tell_running_host(const LearnerArgs &args, const std::string &learner) {
    auto answer = server::control_request(data_dir(args.data) / "control.sock", {{"op", "learner.reload"}, {"learner", learner}});
    if (!answer) {
        if (answer.error().code() == Errc::not_found) return "serve and exec load it at their next start";
        return "the running host did not load it (" + answer.error().message() + "): it will at its next start";
    }
    nlohmann::json reply = nlohmann::json::parse(*answer, nullptr, false);
    if (reply.is_object() && reply.value("reloaded", false))
        return fmt::format("the running host serves it now ({} cached questions embedded again in {:.1f} s)", reply.value("reembedded", 0),
                           reply.value("seconds", 0.0));
    std::string why = reply.is_object() ? reply.value("why", std::string()) : std::string();
    if (why.empty() && reply.is_object() && reply.contains("error")) why = reply["error"].dump();
    return "the running host did not load it (" + why + ")";
}

// Asks the host serving this data directory to put checkpoint `id` on canary (model.canary).
Expected<nlohmann::json> canary_on_running_host(const LearnerArgs &args, int64_t id) {
    auto answer = server::control_request(data_dir(args.data) / "control.sock",
                                          {{"op", "model.canary"}, {"checkpoint", id}, {"share", args.share}, {"window", args.window},
                                           {"margin", args.margin}, {"probation", args.probation}, {"latency_ratio", args.latency_ratio},
                                           {"who", current_user()}});
    if (!answer) return answer.error();
    nlohmann::json reply = nlohmann::json::parse(*answer, nullptr, false);
    if (!reply.is_object()) return Status(Errc::internal, "the host answered " + answer->substr(0, 200));
    return reply;
}

int train(const LearnerArgs &args) {
    if (args.activate != "if-better" && args.activate != "always" && args.activate != "never" && args.activate != "canary")
        return fail(Status(Errc::invalid_argument, "--activate must be if-better, always, never or canary, not " + args.activate));
    auto pairs = learning::read_pairs(args.pairs, args.limit);
    if (!pairs) return fail(pairs.error());
    // The split depends only on the texts and the seed: every training run on this file holds out
    // the same questions, so a checkpoint trained on it earlier never saw today's test questions.
    learning::PairSplit split = learning::split_by_question(*pairs, args.validation_share, args.test_share, args.seed);
    if (split.validation.empty() || split.test.empty())
        return fail(Status(Errc::invalid_argument, args.pairs + ": too few pairs to hold out validation and test questions"));
    auto knowledge = open_knowledge(args.data);
    if (!knowledge) return fail(knowledge.error());
    auto library = open_learner(args.learner, plugin_dir(args.plugins));
    if (!library) return fail(library.error());
    const loader::PluginFacts &facts = (*library)->facts();
    learning::CheckpointTrainingOptions training;
    training.config = args.config;
    training.budget_ms = static_cast<uint64_t>(args.budget_seconds * 1000);
    training.target_false_hit_rate = args.target;
    training.confidence_z = args.confidence_z;
    training.scratch = args.scratch;
    training.created_by = current_user();
    auto file_bytes = read_file(args.pairs);
    training.trained_on = {{"pairs", std::filesystem::absolute(args.pairs).string()},
                           {"pairs_sha256", file_bytes ? sha256_hex(*file_bytes) : std::string()},
                           {"limit", args.limit},
                           {"split_seed", args.seed}};
    Progress progress("training " + facts.name);
    training.on_progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
    auto trained = learning::train_checkpoint(*knowledge->checkpoints, *library, split, training);
    progress.suspend();
    if (!trained) return fail(trained.error());
    const learning::MethodResult &before = trained->before, &after = trained->after;
    const store::CheckpointRecord &record = trained->record;

    const bool not_worse = after.chosen.hit_rate >= before.chosen.hit_rate;
    const bool activate = args.activate == "always" || (args.activate == "if-better" && not_worse);
    if (activate)
        if (Status s = knowledge->checkpoints->activate(facts.name, record.id); !s) return fail(s);
    if (auto logged = knowledge->audit->append(current_user(), "learner-checkpoint", facts.name,
                                   {{"checkpoint", record.id}, {"sha256", record.sha256}, {"parent", record.parent_id ? nlohmann::json(*record.parent_id) : nlohmann::json()},
                                    {"activated", activate}, {"before", before.chosen.hit_rate}, {"after", after.chosen.hit_rate}});
        !logged)
        return fail(logged.error());

    std::string host_says = activate ? tell_running_host(args, facts.name) : std::string();
    if (args.activate == "canary") {
        // The running host judges it on live questions and makes it active only if it holds up.
        auto canary = canary_on_running_host(args, record.id);
        host_says = canary ? fmt::format("on canary on the running host for {:.0f}% of questions (aicache learner canary {} --status)",
                                         100 * args.share, facts.name)
                           : "not on canary (" + canary.error().message() + "): activate it with aicache learner rollback --to " +
                                 std::to_string(record.id);
    }
    if (args.json) {
        nlohmann::json out = nlohmann::json::parse(record.metrics);
        if (!host_says.empty()) out["host"] = host_says;
        out["checkpoint"] = record.id;
        out["sha256"] = record.sha256;
        out["active"] = activate;
        out["parent"] = record.parent_id ? nlohmann::json(*record.parent_id) : nlohmann::json();
        out["trained_on"] = nlohmann::json::parse(record.trained_on);
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    std::printf("%s: %zu train / %zu validation / %zu test pairs (questions held out, seed %llu)\n", args.pairs.c_str(), split.train.size(),
                split.validation.size(), split.test.size(), static_cast<unsigned long long>(args.seed));
    std::printf("trained %s %s from %s for %.0f s: %s\n", facts.name.c_str(), facts.version.c_str(),
                record.parent_id ? fmt::format("checkpoint #{}", *record.parent_id).c_str() : "scratch", args.budget_seconds, trained->metrics.c_str());
    std::printf("held-out (%s, false hits <= %.1f%%): before %s, after %s\n", after.name.c_str(), 100 * args.target,
                percent(before.chosen).c_str(), percent(after.chosen).c_str());
    std::printf("checkpoint #%lld (sha256 %s, %s) %s\n", static_cast<long long>(record.id), record.sha256.substr(0, 12).c_str(),
                human_bytes(uint64_t(record.size_bytes)).c_str(),
                activate                      ? ("is now active: " + host_says).c_str()
                : args.activate == "canary" ? ("recorded, " + host_says).c_str()
                : args.activate == "never"  ? "recorded, not activated (--activate never)"
                                            : "recorded, not activated: it does worse on held-out questions than the active model");
    return 0;
}

int list(const LearnerArgs &args) {
    auto knowledge = open_knowledge(args.data);
    if (!knowledge) return fail(knowledge.error());
    auto records = knowledge->checkpoints->list(args.learner);
    if (!records) return fail(records.error());
    if (args.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &r : *records)
            out.push_back({{"id", r.id}, {"learner", r.learner}, {"active", r.active}, {"plugin_version", r.plugin_version},
                           {"plugin_sha256", r.plugin_sha256}, {"state_format", r.state_format}, {"sha256", r.sha256},
                           {"size_bytes", r.size_bytes}, {"parent", r.parent_id ? nlohmann::json(*r.parent_id) : nlohmann::json()},
                           {"trained_on", nlohmann::json::parse(r.trained_on, nullptr, false)},
                           {"metrics", nlohmann::json::parse(r.metrics, nullptr, false)}, {"created_at", r.created_at}, {"created_by", r.created_by},
                           {"pruned_at", r.pruned_at}});
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (records->empty()) {
        std::printf("no learner checkpoints yet (aicache learner train NAME --pairs FILE makes one)\n");
        return 0;
    }
    std::printf("%-5s %-10s %-6s %-24s %-7s %-12s %9s   %s\n", "id", "learner", "active", "created", "parent", "sha256", "size", "held-out hits before -> after");
    for (const auto &r : *records) {
        nlohmann::json m = nlohmann::json::parse(r.metrics, nullptr, false);
        auto rate = [&](const char *when) {
            if (!m.is_object() || !m.contains(when)) return std::string("?");
            return fmt::format("{:.1f}%", 100 * m[when]["held_out"].value("hit_rate", 0.0));
        };
        std::printf("%-5lld %-10s %-6s %-24s %-7s %-12s %9s   %s -> %s%s\n", static_cast<long long>(r.id), r.learner.c_str(), r.active ? "*" : "",
                    r.created_at.c_str(), r.parent_id ? fmt::format("#{}", *r.parent_id).c_str() : "-", r.sha256.substr(0, 12).c_str(),
                    human_bytes(uint64_t(r.size_bytes)).c_str(), rate("before").c_str(), rate("after").c_str(), r.pruned_at.empty() ? "" : "  (pruned)");
    }
    return 0;
}

int rollback(const LearnerArgs &args) {
    auto knowledge = open_knowledge(args.data);
    if (!knowledge) return fail(knowledge.error());
    auto previous = knowledge->checkpoints->active(args.learner);
    if (!previous) return fail(previous.error());
    auto target = knowledge->checkpoints->find(args.to);
    if (!target) return fail(target.error());
    if (*target) // a damaged file is refused before it becomes what serve loads
        if (auto bytes = knowledge->checkpoints->read(**target); !bytes) return fail(bytes.error());
    if (Status s = knowledge->checkpoints->activate(args.learner, args.to); !s) return fail(s);
    nlohmann::json details = {{"checkpoint", args.to}, {"previous", *previous ? nlohmann::json((*previous)->id) : nlohmann::json()}};
    if (auto logged = knowledge->audit->append(current_user(), "learner-rollback", args.learner, details); !logged) return fail(logged.error());
    std::printf("%s: checkpoint #%lld is active (was %s); %s\n", args.learner.c_str(), static_cast<long long>(args.to),
                *previous ? fmt::format("#{}", (*previous)->id).c_str() : "none", tell_running_host(args, args.learner).c_str());
    return 0;
}

// `learner canary NAME --to ID | --status | --rollback`: a checkpoint judged on a running host's
// live questions before it becomes active (patches/model_canary.hpp).
int canary(const LearnerArgs &args) {
    nlohmann::json request;
    if (args.status) request = {{"op", "model.status"}};
    else if (args.stop) request = {{"op", "model.rollback"}, {"who", current_user()}};
    else if (args.to > 0) request = nullptr;
    else return fail(Status(Errc::invalid_argument, "say --to CHECKPOINT, --status or --rollback"));
    Expected<nlohmann::json> reply = Status(Errc::internal, "");
    if (request.is_null()) {
        reply = canary_on_running_host(args, args.to);
    } else {
        auto answer = server::control_request(data_dir(args.data) / "control.sock", request);
        if (!answer) return fail(answer.error().code() == Errc::not_found ? Status(Errc::not_found, "no host is serving " + data_dir(args.data).string())
                                                                       : answer.error());
        reply = nlohmann::json::parse(*answer, nullptr, false);
    }
    if (!reply) return fail(reply.error());
    std::printf("%s\n", reply->dump(2).c_str());
    return 0;
}

int gc(const LearnerArgs &args) {
    auto knowledge = open_knowledge(args.data);
    if (!knowledge) return fail(knowledge.error());
    auto pruned = knowledge->checkpoints->prune(args.learner, args.keep);
    if (!pruned) return fail(pruned.error());
    if (!pruned->ids.empty()) {
        if (auto logged = knowledge->audit->append(current_user(), "learner-gc", args.learner.empty() ? "*" : args.learner,
                                       {{"pruned", pruned->ids}, {"bytes_freed", pruned->bytes_freed}, {"keep", args.keep}});
            !logged)
            return fail(logged.error());
    }
    std::printf("pruned %zu checkpoints (records kept), freed %s; the active one and the %zu newest of each learner are kept\n", pruned->ids.size(),
                human_bytes(pruned->bytes_freed).c_str(), args.keep);
    return 0;
}

} // namespace

void register_learner(CLI::App &app) {
    CLI::App *learner = app.add_subcommand("learner", "Train learners and manage their checkpoints (versions kept, rollback)");
    learner->require_subcommand(1);
    learner->fallthrough(); // --data and --plugins after the subcommand work too
    auto args = std::make_shared<LearnerArgs>();
    learner->add_option("--data", args->data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");
    learner->add_option("--plugins", args->plugins, "Plugin directory (default: beside the executable)");

    CLI::App *train_cmd = learner->add_subcommand("train", "Train on labelled pairs, measure on held-out questions, record the checkpoint");
    train_cmd->add_option("learner", args->learner, "Learner plugin: a name in the plugin directory, or a .so")->required();
    train_cmd->add_option("--pairs", args->pairs, "JSONL pairs: {\"a\": ..., \"b\": ..., \"label\": 0|1} per line")->required();
    train_cmd->add_option("--budget-seconds", args->budget_seconds, "Training time")->capture_default_str();
    train_cmd->add_flag("--scratch", args->scratch, "Start from an untrained model, not the active checkpoint");
    train_cmd->add_option("--activate", args->activate,
                          "if-better (not worse on held-out questions), always, never, or canary (the running host judges it on a share of its "
                          "live questions and makes it active if it holds up; --share, --window, --margin, --probation as for learner canary)")
        ->capture_default_str();
    train_cmd->add_option("--target-error", args->target, "False-hit rate at which held-out hits are measured")->capture_default_str();
    train_cmd->add_option("--confidence-z", args->confidence_z, "Thresholds where the validation false-hit rate's Wilson bound meets the target")
        ->capture_default_str();
    train_cmd->add_option("--config", args->config, "The learner's configuration (JSON object)")->capture_default_str();
    train_cmd->add_option("--limit", args->limit, "Use only the first N pairs (0: all)")->capture_default_str();
    train_cmd->add_option("--seed", args->seed, "Seed of the question split (keep it to keep test questions unseen)")->capture_default_str();
    train_cmd->add_option("--validation-share", args->validation_share, "Share of questions for choosing thresholds")->capture_default_str();
    train_cmd->add_option("--test-share", args->test_share, "Share of questions held out for the measurement")->capture_default_str();
    train_cmd->add_flag("--json", args->json, "JSON");
    on_callback(train_cmd, [args] { return train(*args); });

    CLI::App *list_cmd = learner->add_subcommand("list", "Checkpoints, newest first, with what they measured");
    list_cmd->add_option("learner", args->learner, "Only this learner's");
    list_cmd->add_flag("--json", args->json, "JSON");
    on_callback(list_cmd, [args] { return list(*args); });

    CLI::App *gc_cmd = learner->add_subcommand("gc", "Delete the bytes of old checkpoints (the active one and the newest are kept; records stay)");
    gc_cmd->add_option("learner", args->learner, "Only this learner's");
    gc_cmd->add_option("--keep", args->keep, "Newest checkpoints to keep per learner, besides the active one")->capture_default_str();
    on_callback(gc_cmd, [args] { return gc(*args); });

    CLI::App *canary_cmd = learner->add_subcommand("canary", "On the running host: judge a checkpoint on a share of live questions, then promote or drop it");
    canary_cmd->add_option("learner", args->learner, "Learner name")->required();
    canary_cmd->add_option("--to", args->to, "Checkpoint id to put on canary (aicache learner list)");
    canary_cmd->add_flag("--status", args->status, "Show the running canary's counts");
    canary_cmd->add_flag("--rollback", args->stop, "End the running canary; the serving model goes on alone");
    for (CLI::App *cmd : {canary_cmd, train_cmd}) {
        cmd->add_option("--share", args->share, "Share of the questions the canary matches")->check(CLI::Range(0.01, 0.99))->capture_default_str();
        cmd->add_option("--window", args->window, "Questions the canary matches before each verdict")->capture_default_str();
        cmd->add_option("--margin", args->margin, "Points of questions served from the cache the canary may trail by")->capture_default_str();
        cmd->add_option("--probation", args->probation, "Windows the canary must pass before it is promoted")->capture_default_str();
        cmd->add_option("--latency-ratio", args->latency_ratio, "Times the serving model's mean lookup time the canary's may take (0: not judged)")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
    }
    on_callback(canary_cmd, [args] { return canary(*args); });

    CLI::App *rollback_cmd = learner->add_subcommand("rollback", "Make an earlier (or any recorded) checkpoint the active one");
    rollback_cmd->add_option("learner", args->learner, "Learner name")->required();
    rollback_cmd->add_option("--to", args->to, "Checkpoint id (aicache learner list)")->required();
    on_callback(rollback_cmd, [args] { return rollback(*args); });
}

} // namespace aicache::cli
