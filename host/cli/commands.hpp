// Each `aicache` subcommand registers itself on the CLI11 app; failures leave through
// CLI::RuntimeError(exit_code) after the message has been printed.
#pragma once

#include "replay/replay.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace aicache::cli {

// An option naming what is optimized or judged: "hits" (hit ratio) or "tokens" (hits weighted by
// their cost); anything else is refused with the choices.
inline CLI::Option *add_objective_option(CLI::App &command, const std::string &name, replay::Objective &objective, const std::string &help) {
    auto set = [&objective](const std::string &value) {
        for (replay::Objective o : {replay::Objective::hits, replay::Objective::tokens})
            if (value == replay::to_string(o)) objective = o;
    };
    return command.add_option_function<std::string>(name, set, help + " (default: " + replay::to_string(objective) + ")")
        ->check(CLI::IsMember({replay::to_string(replay::Objective::hits), replay::to_string(replay::Objective::tokens)}).description(""))
        ->option_text("hits|tokens");
}

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
