// Each `aicache` subcommand registers itself on the CLI11 app; failures leave through
// CLI::RuntimeError(exit_code) after the message has been printed.
#pragma once

#include <CLI/CLI.hpp>

namespace aicache::cli {

void register_replay(CLI::App &app);
void register_plugin(CLI::App &app);
void register_demo(CLI::App &app);
void register_serve(CLI::App &app);
void register_exec(CLI::App &app);
void register_store(CLI::App &app); // list, inspect, clear, stats
void register_patch(CLI::App &app);

} // namespace aicache::cli
