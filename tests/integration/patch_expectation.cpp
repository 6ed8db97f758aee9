// Runs one patch from tests/fixtures/patches through `aicache patch check --json` (the real
// binary, the real sandboxed worker) and checks it ends where its first line says:
//   // expect: validate RULE      refused by the validator with a finding of that rule
//   // expect: sandbox OUTCOME    stopped by the sandbox (timeout, resource, violation, crashed)
//   // expect: trial-sandbox OUTCOME   compiled, then stopped in the trial child (crashed, resource, timeout, violation)
//   // expect: link | conformance      compiled, then refused by the JIT linker or the conformance suite in the trial
//   // expect: accept             validates, compiles, links, passes conformance and replays in the trial
// An optional `// args: ...` line adds flags (tighter limits for the bombs).
#include "test_support.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace aicache;

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s PATCH.cpp\n", argv[0]);
        return 2;
    }
    const std::string file = argv[1];
    std::ifstream in(file);
    std::string line, expect, args;
    while (std::getline(in, line) && line.rfind("//", 0) == 0) {
        if (line.rfind("// expect: ", 0) == 0) expect = line.substr(11);
        if (line.rfind("// args: ", 0) == 0) args = line.substr(9);
    }
    std::istringstream expectation(expect);
    std::string stage, detail;
    expectation >> stage >> detail;
    if (stage.empty()) {
        std::fprintf(stderr, "%s: no `// expect:` line\n", file.c_str());
        return 2;
    }

    test::TempDir dir;
    std::vector<std::string> command = {"patch", "check", "--json", file};
    std::istringstream extra(args);
    for (std::string word; extra >> word;) command.push_back(word);
    const bool trial = stage == "accept" || stage == "trial-sandbox" || stage == "link" || stage == "conformance";
    if (trial) command.insert(command.end(), {"--trial", "--size", "1%,10%"});
    if (stage == "accept") command.insert(command.end(), {"--object", (dir.path() / "patch.o").string()});
    sandbox::Result ran = test::run_aicache(command, std::chrono::seconds(120));
    nlohmann::json report = nlohmann::json::parse(ran.out, nullptr, false);
    if (report.is_discarded()) {
        std::fprintf(stderr, "%s: no JSON report (%s)\nstdout: %s\nstderr: %s\n", file.c_str(), ran.to_string().c_str(), ran.out.c_str(), ran.err.c_str());
        return 1;
    }
    std::printf("%s\n", report.dump(2).c_str());
    auto failed = [&](const std::string &why) {
        std::fprintf(stderr, "%s: expected `%s`, but %s\n", file.c_str(), expect.c_str(), why.c_str());
        return 1;
    };
    const std::string got_stage = report.value("stage", "");
    if (stage == "accept") {
        if (!report.value("accepted", false)) return failed("it was refused at stage " + got_stage);
        if (report.value("object_bytes", 0) < 1000) return failed("the object file is empty");
        if (report["trial"]["comparisons"].size() != 2) return failed("the trial replayed no comparisons");
        return 0;
    }
    if (report.value("accepted", true)) return failed("it was accepted");
    if (stage == "validate") {
        if (got_stage != "validate") return failed("it stopped at stage " + got_stage + " (" + report.value("sandbox_reason", "") + ")");
        for (const auto &finding : report["findings"])
            if (finding.value("rule", "") == detail) return 0;
        return failed("no finding has rule " + detail);
    }
    if (stage == "trial-sandbox") {
        if (got_stage != "trial-sandbox") return failed("it stopped at stage " + got_stage);
        if (report["trial"].value("outcome", "") != detail) return failed("the trial's outcome was " + report["trial"].value("outcome", std::string()));
        return 0;
    }
    if (stage == "link" || stage == "conformance") return got_stage == stage ? 0 : failed("it stopped at stage " + got_stage);
    if (stage == "sandbox") {
        if (got_stage != "sandbox") return failed("it stopped at stage " + got_stage);
        if (report.value("sandbox_outcome", "") != detail) return failed("the sandbox outcome was " + report.value("sandbox_outcome", std::string()));
        return 0;
    }
    return failed("unknown stage " + stage);
}
