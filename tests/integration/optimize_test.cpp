// Optimizers submitting patches through the host: `aicache optimize run` with the real binary, a
// real data directory, the sandboxed jit worker and the trial child. A hostile candidate is
// stopped by the pipeline and told the worst score while the search goes on; evolve's candidates
// are rendered from the host's template, trialled, recorded, resumed after a stop, and the best
// is approved by rule; the audit log names the optimizer and verifies.
#include "core/files.hpp"
#include "optimize_lab.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace aicache;
using test::Lab;
using test::parse;
using test::write_scan_trace;

TEST_CASE("an optimizer's source candidates go through the pipeline: the hostile one is stopped and scored worst") {
    Lab lab;
    auto good = read_file(lab.fixture("good_fifo.cpp")).value();
    auto hostile = read_file(lab.fixture("call_system.cpp")).value();
    nlohmann::json space = {{"sources", {hostile, good}}};
    REQUIRE(write_file_atomic(lab.dir.path() / "space.json", space.dump()));
    sandbox::Result ran = lab.run({"optimize", "run", test::fixture_path("scripted_optimizer").string(), "--search", "scripted", "--space",
                                   "@" + (lab.dir.path() / "space.json").string(), "--trials", "3", "--target", "fifo", "--size", "1%",
                                   "--json"});
    INFO(ran.out << ran.err);
    REQUIRE(ran.outcome == sandbox::Outcome::ok);
    nlohmann::json out = parse(ran);
    REQUIRE(out["trials"].size() == 3);
    CHECK(out["trials"][0]["outcome"].get<std::string>().find("rejected: validate") == 0);
    CHECK(out["trials"][0]["score"] == -100.0);
    CHECK(out["trials"][0]["patch_id"] == 1);
    CHECK(out["trials"][1]["outcome"] == "evaluated");
    CHECK(out["trials"][1]["score"] == 0.0); // fifo as a patch, against fifo: the same hits
    CHECK(out["trials"][1]["split"].get<std::string>().find("@ 1%") != std::string::npos);
    CHECK(out["trials"][2]["outcome"] == "repeat of #1"); // the script comes round again; not compiled twice
    CHECK(out["best"]["number"] == 2);

    sandbox::Result shown = lab.run({"patch", "show", "1"});
    CHECK(shown.out.find("[call] uses `system`") != std::string::npos);
    CHECK(shown.out.find("optimizer:scripted 1.0.0 (search scripted") != std::string::npos);
    sandbox::Result verified = lab.run({"audit", "verify"});
    CHECK(verified.exit_code == 0);
}

TEST_CASE("evolve searches priority functions through the pipeline, resumes after a stop, and its best is approved by rule") {
    Lab lab;
    const std::vector<std::string> common = {"--target", "lru", "--size", "2%", "--auto-approve-margin", "-100"};
    auto run = [&](const std::string &trials) {
        std::vector<std::string> args = {"optimize", "run", "evolve", "--trials", trials, "--json"};
        args.insert(args.end(), common.begin(), common.end());
        return lab.run(args);
    };
    sandbox::Result first = run("3");
    INFO(first.out << first.err);
    REQUIRE(first.outcome == sandbox::Outcome::ok);
    nlohmann::json one = parse(first);
    REQUIRE(one["trials"].size() == 3);
    // The first candidate is LRU written as a priority (0 - recency) with 32 samples: close to LRU.
    CHECK(one["trials"][0]["candidate"]["params"]["priority"] == "(0 - recency)");
    CHECK(one["trials"][0]["outcome"] == "evaluated");
    CHECK(one["trials"][0]["score"].get<double>() > -3.0);
    CHECK(one["trials"][0]["score"].get<double>() < 1.0);

    sandbox::Result second = run("5");
    INFO(second.out << second.err);
    REQUIRE(second.outcome == sandbox::Outcome::ok);
    nlohmann::json two = parse(second);
    CHECK(two["resumed_from"] == 3);
    REQUIRE(two["trials"].size() == 5);
    CHECK(two["trials"][0]["candidate"] == one["trials"][0]["candidate"]);
    CHECK(two["trials"][4]["number"] == 5);
    CHECK(two["best_patch_state"] == "approved");

    sandbox::Result listed = lab.run({"optimize", "list"});
    CHECK(listed.out.find("evolve 1.0.0") != std::string::npos);
    sandbox::Result log = lab.run({"audit", "log"});
    CHECK(log.out.find("optimizer:evolve 1.0.0") != std::string::npos);
    CHECK(lab.run({"audit", "verify"}).exit_code == 0);
    // A different space under the same name would make the recorded scores meaningless.
    sandbox::Result clash = lab.run({"optimize", "run", "evolve", "--trials", "6", "--space", "{\"seed\": 9}"});
    CHECK(clash.exit_code == 2);
    CHECK(clash.err.find("searches another space") != std::string::npos);
}

namespace {

// A loop of 120 keys three times a 40-entry cache (LRU hits nothing, LIRS keeps part of it), and
// traffic where each key comes back once, 30 requests later (LRU hits it, LIRS's 1% window does not).
std::pair<std::string, std::string> write_loop_and_recent_traces(const std::filesystem::path &dir) {
    const auto loop = (dir / "loop.txt").string(), recent = (dir / "recent.txt").string();
    std::ofstream out(loop);
    for (int round = 0; round < 30; ++round)
        for (int i = 0; i < 120; ++i) out << i << "\n";
    std::ofstream soon(recent);
    for (int i = 0; i < 3000; ++i) {
        soon << "new" << i << "\n";
        if (i >= 15) soon << "new" << i - 15 << "\n";
    }
    return {loop, recent};
}

} // namespace

TEST_CASE("optimize judge measures a search's best patch on traces beside every classical policy and Belady, marking the one it was evolved on") {
    Lab lab;
    auto scan = write_scan_trace(lab.dir.path() / "scan.txt").string();
    const auto loop = lab.dir.path() / "loop.txt";
    {
        std::ofstream out(loop);
        for (int round = 0; round < 30; ++round)
            for (int i = 0; i < 120; ++i) out << i << "\n"; // a loop a little larger than the cache
    }
    auto searched = lab.run({"optimize", "run", "evolve", "--search", "scan", "--trials", "2", "--target", "lru", "--trace", scan, "--size", "10%"});
    REQUIRE_MESSAGE(searched.exit_code == 0, searched.out << searched.err);
    auto judged = lab.run({"optimize", "judge", "scan", "--trace", scan + "," + loop.string(), "--size", "10%,50%", "--json"});
    REQUIRE_MESSAGE(judged.exit_code == 0, judged.out << judged.err);
    nlohmann::json out = parse(judged);
    REQUIRE(out["rows"].size() == 4);
    for (const auto &row : out["rows"]) {
        INFO(row.dump());
        CHECK(row["trained_on"] == (row["trace"] == scan));
        CHECK_FALSE(row["best_classical"].get<std::string>().empty());
        // Belady is the bound on every policy, the patch included.
        CHECK(row["belady_hit_ratio"].get<double>() >= row["best_classical_hit_ratio"].get<double>());
        CHECK(row["belady_hit_ratio"].get<double>() >= row["patch_hit_ratio"].get<double>());
        // On the loop a recency-led patch may hit nothing (LRU's fate there); on its own trace it hits.
        if (row["trained_on"].get<bool>()) CHECK(row["patch_hit_ratio"].get<double>() > 0);
        const double gap = row["belady_hit_ratio"].get<double>() - row["best_classical_hit_ratio"].get<double>();
        if (gap > 1e-9)
            CHECK(row["gap_closed"].get<double>() ==
                  doctest::Approx((row["patch_hit_ratio"].get<double>() - row["best_classical_hit_ratio"].get<double>()) / gap));
        // The patch against the best classical policy, chunk by chunk: the same difference, inside its interval.
        const nlohmann::json &versus = row["versus_best"];
        CHECK(versus["chunks"] == 50);
        CHECK(versus["points"].get<double>() ==
              doctest::Approx(100 * (row["patch_hit_ratio"].get<double>() - row["best_classical_hit_ratio"].get<double>())));
        CHECK(versus["low"].get<double>() <= versus["points"].get<double>());
        CHECK(versus["points"].get<double>() <= versus["high"].get<double>());
        const std::string verdict = versus["verdict"];
        CHECK(verdict == (versus["low"].get<double>() > 0 ? "ahead" : versus["high"].get<double>() < 0 ? "behind" : "within noise"));
    }
    auto text = lab.run({"optimize", "judge", "scan", "--trace", scan, "--size", "10%"});
    REQUIRE_MESSAGE(text.exit_code == 0, text.out << text.err);
    CHECK(text.out.find("patch - best, 95%") != std::string::npos);
    CHECK(text.out.find("at least the best classical policy in ") != std::string::npos);
    auto one_chunk = lab.run({"optimize", "judge", "scan", "--trace", scan, "--chunks", "1"});
    CHECK(one_chunk.exit_code != 0);
    auto unknown = lab.run({"optimize", "judge", "nothing", "--trace", scan});
    CHECK(unknown.exit_code != 0);
    CHECK(unknown.err.find("no search named \"nothing\"") != std::string::npos);
}

TEST_CASE("evolve on the history template is scored against the best classical policy at every trace and size, and admission keeps a loop") {
    Lab lab;
    auto scan = write_scan_trace(lab.dir.path() / "scan.txt").string();
    const auto loop = (lab.dir.path() / "loop.txt").string();
    {
        std::ofstream out(loop);
        for (int round = 0; round < 30; ++round)
            for (int i = 0; i < 120; ++i) out << i << "\n"; // twice the cache: LRU hits nothing
    }
    // With only recency and gap as features the seeds are LRU, then LIRS's inter-reference recency.
    auto ran = lab.run({"optimize", "run", "evolve", "--search", "history", "--trials", "2", "--target", "lru", "--baseline", "best-classical",
                        "--trace", loop + "," + scan, "--size", "50%", "--space", R"({"template": "history", "features": ["recency", "gap"]})",
                        "--json"});
    REQUIRE_MESSAGE(ran.exit_code == 0, ran.out << ran.err);
    nlohmann::json out = parse(ran);
    REQUIRE(out["trials"].size() == 2);
    for (const auto &trial : out["trials"]) {
        INFO(trial.dump());
        REQUIRE(trial["outcome"] == "evaluated");
        CHECK(trial["split"].get<std::string>().find("loop.txt,scan.txt @ 50% vs the best classical policy") != std::string::npos);
        const auto &cells = trial["detail"]["per_size"];
        REQUIRE(cells.size() == 2); // each trace at the one size
        double total = 0, worst = 1e9;
        for (const auto &cell : cells) {
            CHECK_FALSE(cell["best_classical"].get<std::string>().empty());
            const double gain = 100 * (cell["hit_ratio"].get<double>() - cell["best_classical_hit_ratio"].get<double>());
            CHECK(cell["gain_points"].get<double>() == doctest::Approx(gain));
            total += gain, worst = std::min(worst, gain);
        }
        CHECK(trial["score"].get<double>() == doctest::Approx((total / 2 + worst) / 2));
    }
    CHECK(out["trials"][0]["candidate"]["params"]["priority"] == "(0 - recency)");
    CHECK(out["trials"][0]["detail"]["per_size"][0]["hit_ratio"] == 0.0); // LRU on the loop
    // LIRS's ranking remembers the evicted keys' reuse distances and stops the loop flushing the cache.
    CHECK(out["trials"][1]["candidate"]["params"]["priority"] == "(0 - pmax(recency, gap))");
    CHECK(out["trials"][1]["detail"]["per_size"][0]["hit_ratio"].get<double>() > 0.3);

    auto judged = lab.run({"optimize", "judge", "history", "--trace", loop + "," + scan, "--size", "50%", "--json"});
    REQUIRE_MESSAGE(judged.exit_code == 0, judged.out << judged.err);
    // (The report is held in a variable: a range-for over a member of parse()'s temporary would
    // iterate a destroyed object, and checked nothing.)
    const nlohmann::json judged_report = parse(judged);
    REQUIRE(judged_report["rows"].size() == 2);
    for (const auto &row : judged_report["rows"]) CHECK(row["trained_on"] == true);

    // The template's other modes link, pass the policy conformance suite and keep the loop too:
    // admission without a window (with LeCaR's experts), a window that climbs the hit ratio,
    // recency and gap in distinct keys, and LIRS's structure.
    for (const std::vector<std::string> &sets : {std::vector<std::string>{"window=0", "adaptive=1"}, std::vector<std::string>{"climb=1"},
                                                 std::vector<std::string>{"distinct=1"}, std::vector<std::string>{"promote=1"}}) {
        const auto file = (lab.dir.path() / ("history-" + sets.front() + ".cpp")).string();
        std::vector<std::string> generate = {"patch", "generate", "history", "--set", "priority=0-pmax(recency,gap)", "-o", file};
        for (const auto &set : sets) generate.insert(generate.end(), {"--set", set});
        REQUIRE(lab.run(generate).exit_code == 0);
        auto checked = lab.run({"patch", "check", file, "--trial", "--trace", loop, "--size", "50%", "--json"});
        INFO(sets.front() << ": " << checked.out << checked.err);
        REQUIRE(checked.exit_code == 0);
        nlohmann::json report = parse(checked);
        CHECK(report["trial"]["conformant"] == true);
        CHECK(report["trial"]["comparisons"][0]["candidate_hit_ratio"].get<double>() > 0.3);
    }

    auto several = lab.run({"optimize", "run", "evolve", "--search", "other", "--trace", loop + "," + scan});
    CHECK(several.exit_code != 0);
    CHECK(several.err.find("several --trace files need --baseline best-classical") != std::string::npos);

    // Worst first: a candidate behind anywhere scores its worst gain; once at least the best
    // classical policy everywhere, its mean gain.
    auto worst_first = lab.run({"optimize", "run", "evolve", "--search", "worst", "--trials", "2", "--target", "lru", "--baseline", "best-classical",
                                "--score", "worst-first", "--trace", loop + "," + scan, "--size", "50%", "--space",
                                R"({"template": "history", "features": ["recency", "gap"]})", "--json"});
    REQUIRE_MESSAGE(worst_first.exit_code == 0, worst_first.out << worst_first.err);
    const nlohmann::json ranked = parse(worst_first);
    REQUIRE(ranked["trials"].size() == 2);
    for (const auto &trial : ranked["trials"]) {
        INFO(trial.dump());
        CHECK(trial["split"].get<std::string>().find("(worst first)") != std::string::npos);
        double total = 0, worst = 1e9;
        for (const auto &cell : trial["detail"]["per_size"]) total += cell["gain_points"].get<double>(), worst = std::min(worst, cell["gain_points"].get<double>());
        CHECK(trial["score"].get<double>() == doctest::Approx(worst < 0 ? worst : total / 2));
    }
    CHECK(ranked["trials"][0]["score"].get<double>() < 0); // LRU hits nothing on the loop
    // Asked again, the finished search says what its best's score is: the worst gain, not an average.
    auto again = lab.run({"optimize", "run", "evolve", "--search", "worst", "--trials", "2", "--target", "lru", "--baseline", "best-classical",
                          "--score", "worst-first", "--trace", loop + "," + scan, "--size", "50%"});
    REQUIRE_MESSAGE(again.exit_code == 0, again.out << again.err);
    CHECK(again.out.find("already has 2 trials") != std::string::npos);
    CHECK(again.out.find("over the best classical policy (the worst gain, or the mean gain once none is behind)") != std::string::npos);
    auto unbased = lab.run({"optimize", "run", "evolve", "--search", "unbased", "--score", "worst-first"});
    CHECK(unbased.exit_code != 0);
    CHECK(unbased.err.find("--score worst-first scores against --baseline best-classical") != std::string::npos);
}

TEST_CASE("the history template's portfolio holds what its leading expert would: LIRS's rule on a loop, LRU where reuse comes soon") {
    Lab lab;
    const auto [loop, recent] = write_loop_and_recent_traces(lab.dir.path());
    // LIRS's rule alone, and beside an LRU rival (rivals bit 1).
    auto hit_ratio = [&](const std::string &rivals, const std::string &trace) {
        const auto file = (lab.dir.path() / ("lirs-rivals-" + rivals + ".cpp")).string();
        REQUIRE(lab.run({"patch", "generate", "history", "--set", "priority=0 - recency - gap * (1 - pdiv(recency, recency))", "--set", "promote=1",
                         "--set", "distinct=1", "--set", "history=8", "--set", "rivals=" + rivals, "-o", file})
                    .exit_code == 0);
        auto checked = lab.run({"patch", "check", file, "--trial", "--trace", trace, "--against", "lru", "--size", "40", "--json"});
        INFO(rivals << " on " << trace << ": " << checked.out << checked.err);
        REQUIRE(checked.exit_code == 0);
        nlohmann::json report = parse(checked);
        CHECK(report["trial"]["conformant"] == true);
        const auto &row = report["trial"]["comparisons"][0];
        return std::pair{row["candidate_hit_ratio"].get<double>(), row["incumbent_hit_ratio"].get<double>()};
    };
    const auto [alone_on_loop, lru_on_loop] = hit_ratio("0", loop);
    const auto [alone_on_recent, lru_on_recent] = hit_ratio("0", recent);
    CHECK(lru_on_loop == 0.0);
    CHECK(alone_on_loop > 0.25);
    CHECK(lru_on_recent > 0.45);
    CHECK(alone_on_recent < 0.05); // a 1% window lets a newcomer go before its second use
    const auto [portfolio_on_loop, _] = hit_ratio("2", loop);
    const auto [portfolio_on_recent, __] = hit_ratio("2", recent);
    CHECK(portfolio_on_loop >= alone_on_loop - 0.01);
    CHECK(portfolio_on_recent >= lru_on_recent - 0.01);
    // Every rival at once links and passes the conformance suite as well.
    hit_ratio("7", loop);
}

TEST_CASE("the history template's classical experts are the built-in policies: a portfolio led by the SDK's LIRS replays the lirs plugin") {
    Lab lab;
    const auto [loop, recent] = write_loop_and_recent_traces(lab.dir.path());
    // The evolved expert is LRU (no window, no history), beside the reference LIRS (classical bit 2),
    // which leads until another expert has more hits (first 2).
    auto trial = [&](const std::string &classical, const std::string &switch_cost, const std::string &trace, const std::string &against,
                     const std::string &vote = "0") {
        const auto file = (lab.dir.path() / ("classical-" + classical + "-" + switch_cost + "-" + vote + ".cpp")).string();
        REQUIRE(lab.run({"patch", "generate", "history", "--set", "priority=0 - recency", "--set", "window=0", "--set", "history=0", "--set",
                         "classical=" + classical, "--set", "first=2", "--set", "switch_cost=" + switch_cost, "--set", "vote=" + vote, "-o", file})
                    .exit_code == 0);
        auto checked = lab.run({"patch", "check", file, "--trial", "--trace", trace, "--against", against, "--size", "40", "--json"});
        INFO(classical << " / " << switch_cost << " on " << trace << ": " << checked.out << checked.err);
        REQUIRE(checked.exit_code == 0);
        nlohmann::json report = parse(checked);
        CHECK(report["trial"]["conformant"] == true);
        const auto &row = report["trial"]["comparisons"][0];
        return std::pair{row["candidate_hit_ratio"].get<double>(), row["incumbent_hit_ratio"].get<double>()};
    };
    // On the loop LRU never hits, so LIRS leads throughout and the real cache is LIRS's, hit for hit.
    const auto [portfolio_on_loop, lirs_on_loop] = trial("2", "0", loop, "lirs");
    CHECK(lirs_on_loop > 0.25);
    CHECK(portfolio_on_loop == lirs_on_loop);
    // Where reuse comes soon LRU wins and takes the lead; a cost on changing hands delays it.
    const auto [follows_lru, lirs_on_recent] = trial("2", "0", recent, "lirs");
    const auto [follows_later, lru_on_recent] = trial("2", "4", recent, "lru");
    CHECK(lirs_on_recent < 0.05);
    CHECK(follows_lru >= lru_on_recent - 0.01);
    CHECK(follows_later < follows_lru);
    CHECK(follows_later > lirs_on_recent + 0.2);
    // Voting, LRU has no say on the loop (no hits; before any, the first expert alone has one),
    // so the experts evict as LIRS does, hit for hit.
    const auto [voted_on_loop, _] = trial("2", "0", loop, "lirs", "1000");
    CHECK(voted_on_loop == lirs_on_loop);
    // Where reuse comes soon the experts, evicting together, lose none of the hits that following
    // LRU once it leads costs (measured: 2,985 hits voting, LRU's own, against 2,970).
    const auto [voted_on_recent, __] = trial("2", "0", recent, "lru", "1000");
    CHECK(voted_on_recent > follows_lru);
    CHECK(voted_on_recent >= lru_on_recent);
    // Every reference policy at once links and passes the conformance suite as well, voting too.
    trial("1023", "0.3", loop, "lirs");
    trial("1023", "0.3", loop, "lirs", "3000");
}

TEST_CASE("the history template's LIRS and S3-FIFO experts run with the template's parameters for them") {
    Lab lab;
    const auto [loop, recent] = write_loop_and_recent_traces(lab.dir.path());
    // The evolved expert is one with no hits on the trace (LRU on the loop, MRU where reuse comes
    // soon), so the classical expert leads.
    auto patch_hit_ratio = [&](const std::string &label, const std::string &classical, const std::string &trace, std::vector<std::string> sets) {
        const auto file = (lab.dir.path() / ("experts-" + label + ".cpp")).string();
        const std::string priority = trace == loop ? "0 - recency" : "recency";
        std::vector<std::string> args = {"patch", "generate", "history", "--set", "priority=" + priority, "--set", "window=0", "--set", "history=0",
                                         "--set", "classical=" + classical, "--set", "first=" + classical, "-o", file};
        for (const std::string &set : sets) args.insert(args.end(), {"--set", set});
        REQUIRE(lab.run(args).exit_code == 0);
        auto checked = lab.run({"patch", "check", file, "--trial", "--trace", trace, "--size", "40", "--json"});
        INFO(label << ": " << checked.out << checked.err);
        REQUIRE(checked.exit_code == 0);
        return parse(checked)["trial"]["comparisons"][0]["candidate_hit_ratio"].get<double>();
    };
    auto plugin_hit_ratio = [&](const std::string &policy, const std::string &trace, const std::string &parameters) {
        auto replayed = test::run_aicache({"replay", trace, "--policy", policy, "--size", "40", "--no-belady", "--json", "--policy-parameters", parameters});
        REQUIRE(replayed.exit_code == 0);
        return parse(replayed)["results"][0]["hit_ratio"].get<double>();
    };
    // LIRS with a larger share of non-resident (HIR) entries keeps less of the loop: the expert
    // is the lirs plugin given that share, hit for hit (measured 812 hits of 3,600, against 1,131).
    const double tuned_lirs = patch_hit_ratio("lirs", "lirs", loop, {"lirs_hir_ratio=0.3", "lirs_ghost_factor=1"});
    CHECK(tuned_lirs == plugin_hit_ratio("lirs", loop, R"({"hir_ratio": 0.3, "ghost_factor": 1})"));
    CHECK(tuned_lirs < plugin_hit_ratio("lirs", loop, "{}") - 0.05);
    // S3-FIFO promoting at the first read keeps nothing of keys each read twice (the plugin so
    // set: 0.4% against 49.9% with the default two reads; the patch a few hits more, which the MRU
    // expert takes once S3-FIFO has none).
    const double default_s3fifo = patch_hit_ratio("s3fifo", "s3fifo", recent, {});
    CHECK(default_s3fifo == plugin_hit_ratio("s3fifo", recent, "{}"));
    CHECK(patch_hit_ratio("s3fifo-tuned", "s3fifo", recent, {"s3fifo_small_ratio=0.3", "s3fifo_move=1", "s3fifo_ghost_ratio=2"}) <
          default_s3fifo - 0.3);
}

TEST_CASE("LIRS's rule in the history template with LIRS's structure replays LIRS, also after it forgets old access times") {
    Lab lab;
    // 40,000 requests (the tree of access times forgets its oldest past 4,096): a hot set, a
    // 400-key loop, and bursts of one to four uses in a row, where distinct keys and accesses differ.
    const auto bursts = (lab.dir.path() / "bursts.txt").string();
    {
        std::ofstream out(bursts);
        uint64_t x = 99, looped = 0;
        for (int written = 0; written < 40000;) {
            x = (x * 1103515245 + 12345) % (1ull << 31);
            const uint64_t r = x >> 8;
            const std::string key = r % 10 < 4 ? "h" + std::to_string(r % 30) : "l" + std::to_string(looped++ % 400);
            for (uint64_t use = 0; use < 1 + (r >> 5) % 4 && written < 40000; ++use, ++written) out << key << "\n";
        }
    }
    const auto file = (lab.dir.path() / "lirs.cpp").string();
    REQUIRE(lab.run({"patch", "generate", "history", "--set", "priority=0 - recency - gap * (1 - pdiv(recency, recency))", "--set", "promote=1",
                     "--set", "distinct=1", "--set", "history=2", "-o", file})
                .exit_code == 0);
    auto checked = lab.run({"patch", "check", file, "--trial", "--trace", bursts, "--against", "lirs", "--size", "40,600", "--json"});
    INFO(checked.out << checked.err);
    REQUIRE(checked.exit_code == 0);
    // Measured: 73.59% and 98.97% on both sides; a tree that lost where its times begin after
    // forgetting hit 75.11% at 40 entries.
    const nlohmann::json report = parse(checked);
    REQUIRE(report["trial"]["comparisons"].size() == 2);
    for (const auto &row : report["trial"]["comparisons"])
        CHECK(row["candidate_hit_ratio"].get<double>() == doctest::Approx(row["incumbent_hit_ratio"].get<double>()).epsilon(0.0005));
}
