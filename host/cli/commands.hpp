// Each `aicache` subcommand registers itself on the CLI11 app; failures leave through
// CLI::RuntimeError(exit_code) after the message has been printed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace aicache::cli {

// Runs `run` when `command` is chosen; a non-zero result becomes the process's exit code.
inline void on_callback(CLI::App *command, std::function<int()> run) {
    command->callback([run = std::move(run)] {
        if (int code = run(); code != 0) throw CLI::RuntimeError(code);
    });
}

void register_replay(CLI::App &app);
void register_plugin(CLI::App &app);
void register_demo(CLI::App &app);
void register_serve(CLI::App &app);
void register_exec(CLI::App &app);
void register_store(CLI::App &app); // list, inspect, clear, stats
void register_patch(CLI::App &app);
void register_patch_lifecycle(CLI::App &patch); // submit, list, show, diff, approve, reject
void register_audit(CLI::App &app);
void register_optimize(CLI::App &app);        // optimize run|list|show|judge
void register_optimize_judge(CLI::App &optimize, const std::string &data, const std::string &plugins);
void register_eval(CLI::App &app);            // eval semantic|threshold
void register_learner(CLI::App &app);         // learner train|list|rollback|gc
void register_learn(CLI::App &app);           // learn status
// eval drift|transfer, on the eval command; `plugins` is its --plugins flag (outlives the app's parsing).
void register_eval_continual(CLI::App &eval, std::string &plugins);
void register_eval_fewshot(CLI::App &eval, std::string &plugins); // eval fewshot

} // namespace aicache::cli
