// Small file helpers with Status errors that name the file.
#pragma once

#include "core/status.hpp"

#include <filesystem>
#include <string>

namespace aicache {

Expected<std::string> read_file(const std::filesystem::path &path);
// Writes to a temporary name beside the target, fsyncs, then renames: readers see all or nothing.
Status write_file_atomic(const std::filesystem::path &path, std::string_view bytes);
// Appends `bytes` with one write(2) on an O_APPEND descriptor, so lines appended by several
// threads or processes never interleave within a line.
Status append_file(const std::filesystem::path &path, std::string_view bytes);

} // namespace aicache
