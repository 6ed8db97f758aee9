// Renders replay results as the table users read and the JSON programs read.
#pragma once

#include "replay/replay.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace aicache::cli {

struct ReplayRow {
    replay::ReplayResult result;
    std::string size_label; // what the user asked for: "1%", "64MiB"
};

std::string human_bytes(uint64_t bytes);
std::string format_table(const replay::Trace &trace, const std::vector<ReplayRow> &rows);
nlohmann::json to_json(const replay::Trace &trace, const std::vector<ReplayRow> &rows);

} // namespace aicache::cli
