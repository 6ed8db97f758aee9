// The `aicache` executable.
#include "cli/commands.hpp"
#include "cli/toml_config.hpp"
#include "core/log.hpp"
#include "loader/qualify.hpp"
#include "patches/trial.hpp"

#include <sodium.h>

#include <cstdio>
#include <cstring>

int main(int argc, char **argv) {
    // The qualification child: no logging setup, no CLI parsing, nothing but the check.
    if (argc == 4 && std::strcmp(argv[1], "__qualify") == 0)
        return aicache::loader::qualification_child_main(argv[2], std::strtoull(argv[3], nullptr, 10));
    // The patch trial child (patches/trial.hpp): locks itself down before it reads the patch.
    if (argc >= 2 && std::strcmp(argv[1], "__trial") == 0) return aicache::patches::trial_child_main(argc, argv);

    if (sodium_init() < 0) {
        std::fprintf(stderr, "aicache: libsodium failed to initialise\n");
        return 1;
    }
    CLI::App app{"aicache: a self-improving cache for AI-assistant answers"};
    app.require_subcommand(1);
    std::string log_level = "warn";
    app.add_option("--log", log_level, "Log level: trace, debug, info, warn, error, off (or $AICACHE_LOG)")->capture_default_str();
    app.parse_complete_callback([&] { aicache::init_logging(log_level); });
    // Every flag can also come from the configuration file, in the table of its command.
    app.config_formatter(std::make_shared<aicache::cli::TomlConfig>());
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.set_config("--config", aicache::cli::default_config_path().string(),
                   "TOML configuration file: flags by command, e.g. [serve] upstream = \"https://api.openai.com/v1\"");
    aicache::cli::register_serve(app);
    aicache::cli::register_exec(app);
    aicache::cli::register_store(app);
    aicache::cli::register_replay(app);
    aicache::cli::register_plugin(app);
    aicache::cli::register_patch(app);
    aicache::cli::register_audit(app);
    aicache::cli::register_optimize(app);
    aicache::cli::register_eval(app);
    aicache::cli::register_learner(app);
    aicache::cli::register_learn(app);
    aicache::cli::register_demo(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
