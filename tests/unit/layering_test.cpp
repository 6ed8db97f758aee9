// DESIGN.md's one-way arrows, checked on the source tree: plugins and plugin-api never include
// host/, LLVM/Clang headers only under jit/, LibTorch never in host/.
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <regex>

namespace {

std::vector<std::string> offenders(const std::filesystem::path &root, const std::regex &include) {
    std::vector<std::string> found;
    if (!std::filesystem::exists(root)) return found;
    for (const auto &entry : std::filesystem::recursive_directory_iterator(root)) {
        auto ext = entry.path().extension();
        if (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".c") continue;
        std::ifstream in(entry.path());
        std::string line;
        while (std::getline(in, line))
            if (std::regex_search(line, include)) found.push_back(entry.path().string() + ": " + line);
    }
    return found;
}

std::string join(const std::vector<std::string> &lines) {
    std::string out;
    for (const auto &l : lines) out += l + "\n";
    return out;
}

} // namespace

TEST_CASE("plugins_and_the_plugin_api_never_include_host_headers") {
    auto src = aicache::test::source_dir();
    std::regex host_include(R"(#\s*include\s*[<"](core|loader|cache|store|learning|patches|server|cli|replay|host)/)");
    auto bad = offenders(src / "plugins", host_include);
    auto bad_api = offenders(src / "plugin-api", host_include);
    CHECK_MESSAGE(bad.empty(), join(bad));
    CHECK_MESSAGE(bad_api.empty(), join(bad_api));
}

TEST_CASE("llvm_and_torch_headers_stay_in_their_corners") {
    auto src = aicache::test::source_dir();
    std::regex llvm(R"(#\s*include\s*[<"](llvm|clang|clang-c)/)");
    std::regex torch(R"(#\s*include\s*[<"](torch|ATen)/)");
    for (const char *dir : {"host", "sandbox", "plugins", "plugin-api"}) {
        auto bad = offenders(src / dir, llvm);
        CHECK_MESSAGE(bad.empty(), join(bad));
    }
    auto torch_in_host = offenders(src / "host", torch);
    CHECK_MESSAGE(torch_in_host.empty(), join(torch_in_host));
}

TEST_CASE("jit uses only core from the host, and its public headers carry no LLVM types") {
    auto src = aicache::test::source_dir();
    std::regex host_beyond_core(R"(#\s*include\s*[<"](loader|cache|store|learning|patches|server|cli|replay)/)");
    auto bad = offenders(src / "jit", host_beyond_core);
    CHECK_MESSAGE(bad.empty(), join(bad));
    std::regex llvm(R"(#\s*include\s*[<"](llvm|clang|clang-c)/)");
    auto leaky = offenders(src / "jit" / "include", llvm);
    CHECK_MESSAGE(leaky.empty(), join(leaky));
}
