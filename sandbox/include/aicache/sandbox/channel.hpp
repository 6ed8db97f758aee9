// Length-prefixed frames over a pipe: u32 little-endian length, then that many bytes. The jit
// worker and the host exchange requests, reports and object files this way, so binary data
// never needs escaping and a truncated answer is detected rather than misread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::sandbox {

// Appends one frame to `out`.
void append_frame(std::string &out, std::string_view payload);
// Splits `bytes` into frames; nullopt when a frame is cut short or longer than max_frame.
std::optional<std::vector<std::string>> split_frames(std::string_view bytes, size_t max_frame = size_t(1) << 30);

// Blocking helpers for the child side: whole frames on a descriptor.
bool write_frame(int fd, std::string_view payload) noexcept;
std::optional<std::string> read_frame(int fd, size_t max_frame) noexcept;

} // namespace aicache::sandbox
