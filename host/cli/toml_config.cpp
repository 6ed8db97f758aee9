#include "cli/toml_config.hpp"

#include <toml++/toml.h>

#include <cstdlib>
#include <sstream>

namespace aicache::cli {
namespace {

std::string scalar_text(const toml::node &node, const std::string &where) {
    if (auto s = node.as_string()) return s->get();
    if (auto i = node.as_integer()) return std::to_string(i->get());
    if (auto f = node.as_floating_point()) {
        std::ostringstream out;
        out << f->get();
        return out.str();
    }
    if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
    throw CLI::ConversionError(where + ": only strings, numbers, booleans and arrays of them are understood");
}

void flatten(const toml::table &table, std::vector<std::string> parents, std::vector<CLI::ConfigItem> &out) {
    for (const auto &[key, node] : table) {
        std::string name(key.str());
        std::string where = "config " + (parents.empty() ? name : parents.front() + "." + name);
        if (const toml::table *child = node.as_table()) {
            auto deeper = parents;
            deeper.push_back(name);
            flatten(*child, deeper, out);
            continue;
        }
        CLI::ConfigItem item;
        item.parents = parents;
        item.name = name;
        if (const toml::array *array = node.as_array()) {
            for (const auto &element : *array) item.inputs.push_back(scalar_text(element, where));
        } else {
            item.inputs.push_back(scalar_text(node, where));
        }
        out.push_back(std::move(item));
    }
}

} // namespace

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream &input) const {
    toml::table table;
    try {
        table = toml::parse(input);
    } catch (const toml::parse_error &e) {
        std::ostringstream where;
        where << e.source().begin;
        throw CLI::ParseError("configuration file, " + where.str() + ": " + std::string(e.description()), CLI::ExitCodes::ConversionError);
    }
    std::vector<CLI::ConfigItem> items;
    flatten(table, {}, items);
    return items;
}

std::filesystem::path default_config_path() {
    if (const char *env = std::getenv("AICACHE_CONFIG"); env != nullptr && *env) return env;
    if (const char *xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg) return std::filesystem::path(xdg) / "aicache" / "aicache.toml";
    const char *home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".config" / "aicache" / "aicache.toml";
}

} // namespace aicache::cli
