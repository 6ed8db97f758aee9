#include "cli/exec_output.hpp"

#include <cstring>

namespace aicache::cli {
namespace {
constexpr std::string_view kMagic = "AIX1";
}

std::string encode_output(const std::vector<OutputChunk> &chunks) {
    std::string out(kMagic);
    for (const auto &c : chunks) {
        out.push_back(static_cast<char>(c.stream));
        uint32_t n = static_cast<uint32_t>(c.bytes.size());
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
        out += c.bytes;
    }
    return out;
}

Expected<std::vector<OutputChunk>> decode_output(std::string_view encoded) {
    if (encoded.substr(0, kMagic.size()) != kMagic) return Status(Errc::corrupt, "stored command output has no AIX1 header");
    std::vector<OutputChunk> chunks;
    size_t pos = kMagic.size();
    while (pos < encoded.size()) {
        if (encoded.size() - pos < 5) return Status(Errc::corrupt, "stored command output truncated at byte " + std::to_string(pos));
        int stream = static_cast<unsigned char>(encoded[pos]);
        uint32_t n = 0;
        for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(encoded[pos + 1 + i])) << (8 * i);
        pos += 5;
        if ((stream != 1 && stream != 2) || n > encoded.size() - pos)
            return Status(Errc::corrupt, "stored command output has a bad chunk at byte " + std::to_string(pos - 5));
        chunks.push_back({stream, std::string(encoded.substr(pos, n))});
        pos += n;
    }
    return chunks;
}

} // namespace aicache::cli
