// `aicache list | inspect | clear | stats`: the cached answers, through the running host or
// directly on the data directory.
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/data_plane.hpp"
#include "cli/exec_output.hpp"
#include "cli/replay_table.hpp"
#include "server/cache_api.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace aicache::cli {
namespace {

void print(const std::string &text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string human_span(uint64_t micros) {
    uint64_t seconds = micros / 1'000'000;
    if (seconds < 120) return fmt::format("{}s", seconds);
    if (seconds < 7200) return fmt::format("{}m", seconds / 60);
    if (seconds < 172800) return fmt::format("{}h", seconds / 3600);
    return fmt::format("{}d", seconds / 86400);
}

std::string age(uint64_t created_us) {
    uint64_t now = now_us();
    return human_span(now > created_us ? now - created_us : 0);
}

std::string expiry(uint64_t expires_us) {
    if (expires_us == 0) return "never";
    uint64_t now = now_us();
    return expires_us > now ? "in " + human_span(expires_us - now) : "expired";
}

// One line about what was asked: the model and the last user message, or the command line.
std::string summary(const nlohmann::json &row) {
    nlohmann::json key = nlohmann::json::parse(row.value("key", ""), nullptr, false);
    std::string text;
    if (key.is_object() && key.value("kind", "") == "exec") {
        for (const auto &a : key.value("argv", nlohmann::json::array())) text += (text.empty() ? "" : " ") + a.get<std::string>();
    } else if (key.is_object() && key.contains("request")) {
        const auto &request = key["request"];
        text = request.value("model", "") + ": ";
        if (request.contains("messages") && request["messages"].is_array() && !request["messages"].empty()) {
            const auto &last = request["messages"].back();
            text += last.contains("content") && last["content"].is_string() ? last["content"].get<std::string>() : last.dump();
        } else if (request.contains("prompt")) {
            text += request["prompt"].is_string() ? request["prompt"].get<std::string>() : request["prompt"].dump();
        }
    } else {
        text = row.value("key", "");
    }
    for (char &c : text)
        if (c == '\n' || c == '\t') c = ' ';
    return text.size() > 70 ? text.substr(0, 67) + "..." : text;
}

// "7d", "12h", "30m", "45s" -> microseconds.
Expected<uint64_t> parse_duration(const std::string &text) {
    char *end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string unit(end);
    double seconds = unit == "s" || unit.empty() ? value : unit == "m" ? value * 60 : unit == "h" ? value * 3600 : unit == "d" ? value * 86400 : -1;
    if (end == text.c_str() || !(value >= 0) || seconds < 0)
        return Status(Errc::invalid_argument, "duration \"" + text + "\": expected a number with s, m, h or d (e.g. 7d)");
    return static_cast<uint64_t>(seconds * 1e6);
}

void finish(const Expected<nlohmann::json> &answer) {
    if (!answer) throw CLI::RuntimeError(fail(answer.error()));
}

} // namespace

void register_store(CLI::App &app) {
    auto plane = std::make_shared<DataPlaneOptions>();

    auto verbose = std::make_shared<bool>(false);
    auto list_tenant = std::make_shared<std::string>();
    CLI::App *list = app.add_subcommand("list", "List cached answers, newest first");
    add_data_plane_options(*list, *plane);
    list->add_flag("--verbose,-v", *verbose, "Show the full cache key of each entry");
    list->add_option("--tenant", *list_tenant, "Only this namespace");
    list->callback([=] {
        auto rows = cache_request(*plane, {{"op", "cache.list"}, {"tenant", *list_tenant}});
        finish(rows);
        if (rows->empty()) return print("the cache is empty\n");
        print(fmt::format("{:<16}  {:<10} {:<16} {:>9} {:>5}  {}\n", "key", "tenant", "kind", "size", "age", "request"));
        for (const auto &row : *rows) {
            print(fmt::format("{:<16}  {:<10} {:<16} {:>9} {:>5}  {}\n", row.value("key_hash", ""), row.value("tenant", ""),
                              row.value("kind", ""), human_bytes(row.value("size_bytes", uint64_t(0))), age(row.value("created_at_us", uint64_t(0))),
                              summary(row)));
            if (*verbose) print("    " + row.value("key", "") + "\n");
        }
    });

    auto inspect_key = std::make_shared<std::string>();
    CLI::App *inspect = app.add_subcommand("inspect", "Show one cached answer: its key, metadata and bytes");
    add_data_plane_options(*inspect, *plane);
    inspect->add_option("key", *inspect_key, "Key (hex, as `aicache list` shows it; a unique prefix is enough)")->required();
    inspect->callback([=] {
        auto row = cache_request(*plane, {{"op", "cache.inspect"}, {"key_hash", *inspect_key}});
        finish(row);
        print(fmt::format("key       {}\ntenant    {}\nkind      {}\nsize      {}\ncost      {}\nage       {}\nexpires   {}\nrequest   {}\n",
                          row->value("key_hash", ""), row->value("tenant", ""), row->value("kind", ""),
                          human_bytes(row->value("size_bytes", uint64_t(0))), row->value("cost", uint64_t(0)),
                          age(row->value("created_at_us", uint64_t(0))),
                          expiry(row->value("expires_at_us", uint64_t(0))),
                          row->value("key", "")));
        auto value = server::from_base64(row->value("value_b64", ""));
        if (!value) throw CLI::RuntimeError(fail(value.error()));
        if (row->value("kind", "") == "exec") {
            auto chunks = decode_output(*value);
            if (!chunks) throw CLI::RuntimeError(fail(chunks.error()));
            print("output\n");
            for (const auto &c : *chunks) print((c.stream == 2 ? "[stderr] " : "") + c.bytes);
            return;
        }
        nlohmann::json answer = nlohmann::json::parse(*value, nullptr, false);
        print("answer\n" + (answer.is_discarded() ? *value : answer.dump(2)) + "\n");
    });

    auto older_than = std::make_shared<std::string>();
    auto clear_tenant = std::make_shared<std::string>();
    CLI::App *clear = app.add_subcommand("clear", "Delete cached answers (all, or those older than D / of one tenant)");
    add_data_plane_options(*clear, *plane);
    clear->add_option("--older-than", *older_than, "Only answers stored more than this long ago: 30m, 12h, 7d");
    clear->add_option("--tenant", *clear_tenant, "Only this namespace");
    clear->callback([=] {
        nlohmann::json request = {{"op", "cache.clear"}, {"tenant", *clear_tenant}};
        if (!older_than->empty()) {
            auto duration = parse_duration(*older_than);
            if (!duration) throw CLI::RuntimeError(fail(duration.error()));
            request["older_than_us"] = now_us() - std::min(now_us(), *duration);
        }
        auto answer = cache_request(*plane, request);
        finish(answer);
        print(fmt::format("removed {} cached answers\n", answer->value("removed", uint64_t(0))));
    });

    auto json = std::make_shared<bool>(false);
    CLI::App *stats = app.add_subcommand("stats", "Entries, bytes, hits and the active policy");
    add_data_plane_options(*stats, *plane);
    stats->add_flag("--json", *json, "Print JSON");
    stats->callback([=] {
        auto s = cache_request(*plane, {{"op", "cache.stats"}});
        finish(s);
        if (*json) return print(s->dump(2) + "\n");
        uint64_t lookups = s->value("lookups", uint64_t(0)), hits = s->value("hits", uint64_t(0));
        print(fmt::format("stored    {} answers, {}\n", s->value("stored_entries", uint64_t(0)), human_bytes(s->value("stored_bytes", uint64_t(0)))));
        print(fmt::format("memory    {} entries, {} of {}\n", s->value("entries", uint64_t(0)), human_bytes(s->value("bytes_used", uint64_t(0))),
                          human_bytes(s->value("capacity_bytes", uint64_t(0)))));
        print(fmt::format("lookups   {} ({} hits, {:.1f}%) since the host started\n", lookups, hits, lookups ? 100.0 * double(hits) / double(lookups) : 0.0));
        print(fmt::format("policy    {} {} (sha256 {})\n", s->value("policy", ""), s->value("policy_version", ""),
                          s->value("policy_sha256", "").substr(0, 12)));
        print(fmt::format("store     {}\n", s->value("store", "")));
        const nlohmann::json tenants = s->value("tenants", nlohmann::json::object());
        for (const auto &[tenant, t] : tenants.items())
            print(fmt::format("tenant    {:<12} {} answers, {}\n", tenant, t.value("entries", uint64_t(0)), human_bytes(t.value("bytes", uint64_t(0)))));
    });
}

} // namespace aicache::cli
