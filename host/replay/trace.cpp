#include "replay/trace.hpp"

#include "core/files.hpp"
#include "core/hash.hpp"
#include "learning/request_log.hpp"

#include <aicache/sdk/key_index.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>

namespace aicache::replay {

void summarize(Trace &trace) {
    sdk::BasicKeyIndex<uint8_t, 0> seen; // flat and probe-cheap: summarizing big traces took longer than replaying them
    uint64_t footprint = 0;
    for (const Request &r : trace.requests)
        if (seen.find(r.id) == 0) {
            seen.set(r.id, 1);
            footprint += r.size;
        }
    trace.distinct_objects = seen.size();
    trace.footprint_bytes = footprint;
}

Expected<Trace> read_oracle_general(const std::filesystem::path &path) {
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    constexpr size_t kRecord = 24;
    if (bytes->size() % kRecord != 0)
        return Status(Errc::corrupt, path.string() + ": truncated oracleGeneral trace: " + std::to_string(bytes->size() % kRecord) +
                                         " stray bytes at offset " + std::to_string(bytes->size() - bytes->size() % kRecord) +
                                         " (records are 24 bytes)");
    Trace trace;
    trace.name = path.filename().string();
    trace.requests.reserve(bytes->size() / kRecord);
    for (size_t off = 0; off < bytes->size(); off += kRecord) {
        uint32_t time, size;
        uint64_t id;
        std::memcpy(&time, bytes->data() + off, 4);
        std::memcpy(&id, bytes->data() + off + 4, 8);
        std::memcpy(&size, bytes->data() + off + 12, 4);
        uint64_t object_size = std::max<uint32_t>(size, 1);
        trace.requests.push_back(Request{uint64_t(time) * 1'000'000, id, object_size, object_size});
    }
    summarize(trace);
    return trace;
}

Expected<Trace> read_key_lines(const std::filesystem::path &path) {
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    Trace trace;
    trace.name = path.filename().string();
    std::string_view text = *bytes;
    uint64_t line = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view key = text.substr(pos, end - pos);
        pos = end + 1;
        ++line;
        while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
        if (key.empty()) continue;
        uint64_t id = 0;
        auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
        if (ec != std::errc() || ptr != key.data() + key.size()) id = hash_key(key);
        trace.requests.push_back(Request{line * 1000, id, 1, 1});
    }
    if (trace.requests.empty()) return Status(Errc::invalid_argument, path.string() + ": trace has no keys");
    summarize(trace);
    return trace;
}

namespace {

enum class Column { time, id, size, cost, ignored };

// Column names libCacheSim's CSV traces and common exports use; anything else is an error, so a
// typo or a shifted header never silently replays the wrong column.
std::optional<Column> column_named(std::string name) {
    for (char &c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    if (name == "time" || name == "timestamp" || name == "ts" || name == "clock_time" || name == "real_time") return Column::time;
    if (name == "obj_id" || name == "id" || name == "key" || name == "object_id" || name == "obj" || name == "block") return Column::id;
    if (name == "obj_size" || name == "size" || name == "bytes" || name == "object_size") return Column::size;
    if (name == "cost" || name == "tokens") return Column::cost;
    if (name == "next_access_vtime" || name == "next_access" || name == "op" || name == "tenant" || name == "ttl") return Column::ignored;
    return std::nullopt;
}

std::vector<std::string_view> split_csv(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    for (;;) {
        size_t comma = line.find(',', start);
        fields.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return fields;
}

} // namespace

Expected<Trace> read_csv(const std::filesystem::path &path) {
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    const std::string where = path.string();
    std::string_view text = *bytes;
    size_t pos = 0;
    uint64_t line_number = 0;
    auto next_line = [&](std::string_view &line) {
        if (pos >= text.size()) return false;
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = end + 1;
        ++line_number;
        return true;
    };
    std::string_view header;
    if (!next_line(header)) return Status(Errc::invalid_argument, where + ": empty CSV trace (a header line naming the columns comes first)");
    std::vector<Column> columns;
    int id_column = -1;
    for (std::string_view name : split_csv(header)) {
        auto column = column_named(std::string(name));
        if (!column)
            return Status(Errc::invalid_argument, where + ":1: unknown column '" + std::string(name) +
                                                      "' (known: time, obj_id, obj_size, cost, and next_access_vtime/op/tenant/ttl, which are ignored)");
        if (*column == Column::id) id_column = static_cast<int>(columns.size());
        columns.push_back(*column);
    }
    if (id_column < 0) return Status(Errc::invalid_argument, where + ":1: the header names no object id column (obj_id, id or key)");

    Trace trace;
    trace.name = path.filename().string();
    std::string_view line;
    while (next_line(line)) {
        if (line.empty()) continue;
        auto fields = split_csv(line);
        if (fields.size() != columns.size())
            return Status(Errc::corrupt, where + ":" + std::to_string(line_number) + ": " + std::to_string(fields.size()) +
                                             " fields, the header has " + std::to_string(columns.size()));
        Request r;
        r.time_us = line_number * 1000;
        for (size_t c = 0; c < columns.size(); ++c) {
            std::string_view field = fields[c];
            uint64_t value = 0;
            auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
            bool numeric = ec == std::errc() && end == field.data() + field.size();
            switch (columns[c]) {
            case Column::id: r.id = numeric ? value : hash_key(field); break;
            case Column::time:
            case Column::size:
            case Column::cost:
                if (!numeric)
                    return Status(Errc::corrupt, where + ":" + std::to_string(line_number) + ": column " + std::to_string(c + 1) +
                                                     " is '" + std::string(field) + "', not a non-negative integer");
                if (columns[c] == Column::time) r.time_us = value * 1'000'000;
                else if (columns[c] == Column::size) r.size = std::max<uint64_t>(value, 1);
                else r.cost = value;
                break;
            case Column::ignored: break;
            }
        }
        if (std::find(columns.begin(), columns.end(), Column::cost) == columns.end()) r.cost = r.size;
        trace.requests.push_back(r);
    }
    if (trace.requests.empty()) return Status(Errc::invalid_argument, where + ": the CSV trace has a header but no requests");
    summarize(trace);
    return trace;
}

Expected<Trace> read_request_logs(const std::vector<std::filesystem::path> &files) {
    if (files.empty()) return Status(Errc::not_found, "no request log files (requests.arl) to replay");
    Trace trace;
    trace.name = files.back().filename().string();
    if (files.size() > 1) trace.name += " (+" + std::to_string(files.size() - 1) + " rotated)";
    uint64_t skipped = 0;
    for (const auto &file : files) {
        auto records = learning::read_request_log(file);
        if (!records) return records.error();
        for (const learning::RequestRecord &r : *records) {
            // Bypassed and failed requests never reached the cache; a replay of them would invent traffic.
            if (!r.reached_cache() || r.size_bytes == 0) {
                ++skipped;
                continue;
            }
            trace.requests.push_back(Request{r.time_us, r.key_hash, r.size_bytes, std::max<uint64_t>(r.cost_tokens, 1)});
        }
    }
    if (trace.requests.empty())
        return Status(Errc::invalid_argument, files.back().string() + ": the request log holds no cacheable requests yet (" +
                                                  std::to_string(skipped) + " bypassed or failed)");
    // A record is written when its answer is done, so a slow answer follows a quicker one that
    // arrived after it (the proxy answers on several threads). The cache saw them as they arrived.
    std::stable_sort(trace.requests.begin(), trace.requests.end(), [](const Request &a, const Request &b) { return a.time_us < b.time_us; });
    summarize(trace);
    return trace;
}

Expected<Trace> read_trace(const std::filesystem::path &path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        auto files = learning::request_log_files(path);
        if (files.empty()) return Status(Errc::not_found, path.string() + ": a directory with no request log (requests.arl): pass a trace file or an aicache data directory");
        return read_request_logs(files);
    }
    if (learning::is_request_log(path)) return read_request_logs({path});
    std::string name = path.filename().string();
    if (path.extension() == ".bin" || name.find("oracleGeneral") != std::string::npos) return read_oracle_general(path);
    if (path.extension() == ".csv") return read_csv(path);
    return read_key_lines(path);
}

Trace generate_workload(const GeneratorOptions &o) {
    std::mt19937_64 rng(o.seed);
    Trace trace;
    trace.name = "generated(seed=" + std::to_string(o.seed) + ",zipf=" + std::to_string(o.zipf_alpha).substr(0, 4) + ")";
    const uint64_t n = std::max<uint64_t>(o.objects, 1);

    // Sizes of LLM answers: log-normal around ~1.5 KB, clamped to [64 B, 64 KB].
    std::lognormal_distribution<double> size_dist(std::log(1500.0), 0.9);
    std::vector<uint32_t> sizes(n);
    for (auto &s : sizes) s = static_cast<uint32_t>(std::clamp(size_dist(rng), 64.0, 65536.0));

    std::vector<double> cdf(n);
    double total = 0;
    for (uint64_t r = 0; r < n; ++r) cdf[r] = total += 1.0 / std::pow(double(r + 1), o.zipf_alpha);
    for (auto &c : cdf) c /= total;

    std::uniform_real_distribution<double> unit(0.0, 1.0);
    trace.requests.reserve(o.requests);
    uint64_t rotation = 0;
    for (uint64_t i = 0; i < o.requests; ++i) {
        if (o.drift_every != 0 && i != 0 && i % o.drift_every == 0) rotation = (rotation + o.drift_step) % n;
        uint64_t rank = static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), unit(rng)) - cdf.begin());
        rank = std::min(rank, n - 1);
        // A fixed scramble spreads ranks over ids, and the rotation moves the hot set to other objects.
        uint64_t object = (rank + rotation) % n;
        uint64_t id = object * 0x9E3779B97F4A7C15ull + 1;
        uint64_t size = sizes[object];
        trace.requests.push_back(Request{static_cast<uint64_t>(double(i) * 1e6 / o.requests_per_second), id, size, (size + 3) / 4});
    }
    summarize(trace);
    return trace;
}

Status write_csv(const Trace &trace, const std::filesystem::path &path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Status(Errc::io, "cannot write " + path.string());
    out << "time,obj_id,obj_size,cost\n";
    for (const auto &r : trace.requests) out << r.time_us / 1'000'000 << ',' << r.id << ',' << r.size << ',' << r.cost << '\n';
    out.flush();
    if (!out) return Status(Errc::io, "cannot write " + path.string() + " (disk full?)");
    return Status::ok();
}

} // namespace aicache::replay
