#include "cli/common.hpp"

#include "loader/qualification_cache.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>
#include <cstdlib>
#include <pwd.h>
#include <unistd.h>

namespace aicache::cli {

std::filesystem::path plugin_dir(const std::string &flag) {
    if (!flag.empty()) return flag;
    if (const char *env = std::getenv("AICACHE_PLUGIN_DIR"); env != nullptr && *env) return env;
    // The build tree mirrors the installed layout: bin/aicache beside lib/aicache/plugins/.
    return (loader::current_executable().parent_path() / ".." / "lib" / "aicache" / "plugins").lexically_normal();
}

std::filesystem::path data_dir(const std::string &flag) {
    if (!flag.empty()) return flag;
    if (const char *env = std::getenv("AICACHE_DATA"); env != nullptr && *env) return env;
    if (const char *xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg) return std::filesystem::path(xdg) / "aicache";
    const char *home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".local" / "share" / "aicache";
}

Expected<std::shared_ptr<loader::PluginLibrary>> open_policy(const std::string &name_or_path, const std::filesystem::path &dir) {
    auto file = find_plugin_file("policy", name_or_path, dir);
    if (!file) return file.error();
    return loader::PluginLibrary::load_file(*file);
}

std::vector<std::string> plugin_names(const std::filesystem::path &dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".so") names.push_back(entry.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

Expected<NamedPolicies> qualified_policies(const std::filesystem::path &dir, const std::vector<std::string> &names) {
    NamedPolicies out;
    for (const auto &name : names.empty() ? plugin_names(dir) : names) {
        auto library = open_qualified_plugin("policy", name, dir, std::chrono::seconds(10));
        if (library) out.emplace_back(name, *library);
        else if (!names.empty()) return library.error().with_context(name);
    }
    if (out.empty()) return Status(Errc::not_found, "no policy plugins in " + dir.string() + ": pass --plugins DIR");
    return out;
}

Expected<std::filesystem::path> find_plugin_file(const std::string &kind, const std::string &name_or_path, const std::filesystem::path &dir) {
    std::filesystem::path file = name_or_path;
    if (name_or_path.find('/') == std::string::npos && file.extension() != ".so") file = dir / (name_or_path + ".so");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        std::string known;
        for (const auto &name : plugin_names(dir)) known += (known.empty() ? "" : ", ") + name;
        return Status(Errc::not_found, kind + " \"" + name_or_path + "\": no " + file.string() +
                                           (known.empty() ? " (plugin directory is empty or missing: pass --plugins DIR)"
                                                          : " (plugins there: " + known + ")"));
    }
    return file;
}

Expected<std::shared_ptr<loader::PluginLibrary>> open_qualified_plugin(const std::string &kind, const std::string &name_or_path,
                                                                       const std::filesystem::path &dir, std::chrono::milliseconds timeout) {
    auto file = find_plugin_file(kind, name_or_path, dir);
    if (!file) return file.error();
    loader::QualifyOptions qualify;
    qualify.aicache_exe = loader::current_executable();
    qualify.timeout = timeout;
    loader::Verdict verdict = loader::qualify_remembered(*file, qualify);
    if (!verdict.status) return verdict.status;
    // The bytes that passed, or nothing: a file replaced since is refused before it is mapped.
    auto library = loader::PluginLibrary::load_file(*file, verdict.content_hash);
    if (!library) return library.error();
    if (kind != loader::kind_name((*library)->facts().kind))
        return Status(Errc::invalid_argument, file->string() + " is a " + loader::kind_name((*library)->facts().kind) + ", not a " + kind);
    return library;
}

Expected<std::shared_ptr<loader::PluginLibrary>> open_learner(const std::string &name_or_path, const std::filesystem::path &dir) {
    return open_qualified_plugin("learner", name_or_path, dir, std::chrono::seconds(120));
}

std::string current_user() {
    if (const char *user = std::getenv("USER"); user != nullptr && *user) return user;
    if (passwd *pw = ::getpwuid(::getuid()); pw != nullptr) return pw->pw_name;
    return "uid " + std::to_string(::getuid());
}

int fail(const Status &status) {
    std::fprintf(stderr, "aicache: %s\n", status.message().c_str());
    return status.code() == Errc::invalid_argument ? 2 : 1;
}

Progress::Progress(std::string label) : label_(std::move(label)), enabled_(::isatty(2) != 0) {}

Progress::~Progress() {
    if (enabled_ && last_percent_ >= 0) std::fprintf(stderr, "\r\033[K");
}

void Progress::suspend() {
    if (enabled_ && last_percent_ >= 0) std::fprintf(stderr, "\r\033[K");
    last_percent_ = -1;
}

void Progress::update(uint64_t done, uint64_t total) {
    if (!enabled_ || total == 0) return;
    int percent = static_cast<int>(done * 100 / total);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    constexpr int width = 30;
    int filled = percent * width / 100;
    std::fprintf(stderr, "\r%-28s [%.*s%*s] %3d%%", label_.substr(0, 28).c_str(), filled, "==============================",
                 width - filled, "", percent);
    std::fflush(stderr);
}

} // namespace aicache::cli
