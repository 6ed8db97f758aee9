// `aicache plugin check | list | load | history | rollback`
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/plugin_ops.hpp"
#include "loader/qualify.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace aicache::cli {
namespace {

void print(const std::string &text) { std::fwrite(text.data(), 1, text.size(), stdout); }

int check(const std::string &file, double timeout_seconds) {
    loader::QualifyOptions options;
    options.aicache_exe = loader::current_executable();
    options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
    loader::Verdict verdict = loader::qualify_in_child(file, options);
    if (!verdict.status) {
        std::printf("FAIL %s\n", verdict.status.message().c_str());
        return 1;
    }
    std::printf("ok %s\n", verdict.summary.c_str());
    return 0;
}

} // namespace

void register_plugin(CLI::App &app) {
    CLI::App *plugin = app.add_subcommand("plugin", "Check, load, list and roll back plugin versions");
    plugin->require_subcommand(1);
    auto data = std::make_shared<std::string>();
    plugin->add_option("--data", *data, "Data directory (default: $AICACHE_DATA or ~/.local/share/aicache)");

    auto check_file = std::make_shared<std::string>();
    auto timeout = std::make_shared<double>(10.0);
    CLI::App *check_cmd = plugin->add_subcommand("check", "Load FILE.so in a child process and run its conformance suite");
    check_cmd->add_option("file", *check_file, "Plugin library")->required();
    check_cmd->add_option("--timeout", *timeout, "Seconds before a hanging plugin is killed")->capture_default_str();
    check_cmd->callback([=] {
        if (int code = check(*check_file, *timeout); code != 0) throw CLI::RuntimeError(code);
    });

    auto finish = [](const Expected<std::string> &out) {
        if (!out) throw CLI::RuntimeError(fail(out.error()));
        print(*out);
    };

    CLI::App *list_cmd = plugin->add_subcommand("list", "Active plugin versions");
    list_cmd->callback([=] { finish(plugin_request(data_dir(*data), {{"op", "plugin.list"}})); });

    auto load_file = std::make_shared<std::string>();
    CLI::App *load_cmd = plugin->add_subcommand("load", "Qualify, record and activate a plugin library");
    load_cmd->add_option("file", *load_file, "Plugin library")->required()->check(CLI::ExistingFile);
    load_cmd->callback([=] {
        std::string absolute = std::filesystem::absolute(*load_file).string();
        finish(plugin_request(data_dir(*data), {{"op", "plugin.load"}, {"file", absolute}, {"who", current_user()}}));
    });

    auto history_name = std::make_shared<std::string>();
    CLI::App *history_cmd = plugin->add_subcommand("history", "Every load, activation and rollback of a plugin");
    history_cmd->add_option("name", *history_name, "Plugin name")->required();
    history_cmd->callback([=] { finish(plugin_request(data_dir(*data), {{"op", "plugin.history"}, {"name", *history_name}})); });

    auto rollback_name = std::make_shared<std::string>();
    auto rollback_to = std::make_shared<std::string>();
    CLI::App *rollback_cmd = plugin->add_subcommand("rollback", "Re-activate the previous (or a given) version of a plugin");
    rollback_cmd->add_option("name", *rollback_name, "Plugin name")->required();
    rollback_cmd->add_option("--to", *rollback_to, "Version: record id (#3), content-hash prefix, or version string");
    rollback_cmd->callback([=] {
        nlohmann::json request = {{"op", "plugin.rollback"}, {"name", *rollback_name}, {"who", current_user()}};
        if (!rollback_to->empty()) request["to"] = *rollback_to;
        finish(plugin_request(data_dir(*data), request));
    });
}

} // namespace aicache::cli
