// What `aicache exec` stores for a command: its stdout and stderr as an ordered list of chunks,
// so a hit replays the output with the interleaving the user saw.
#pragma once

#include "core/status.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace aicache::cli {

struct OutputChunk {
    int stream; // 1 = stdout, 2 = stderr
    std::string bytes;
};

std::string encode_output(const std::vector<OutputChunk> &chunks);
Expected<std::vector<OutputChunk>> decode_output(std::string_view encoded);

} // namespace aicache::cli
