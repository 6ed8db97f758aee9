// Reads aicache's configuration file with toml++ (a full TOML 1.0 parser) and hands it to CLI11
// as option values, so every command-line flag can also be set in the file, under the table of
// its command: [serve] upstream = "https://api.openai.com/v1". Unknown keys are errors.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>

namespace aicache::cli {

class TomlConfig : public CLI::ConfigTOML {
public:
    std::vector<CLI::ConfigItem> from_config(std::istream &input) const override;
};

// $AICACHE_CONFIG, else $XDG_CONFIG_HOME/aicache/aicache.toml, else ~/.config/aicache/aicache.toml.
std::filesystem::path default_config_path();

} // namespace aicache::cli
