// Generated labelled question pairs for tests of learners: tasks asked several ways. Tasks come
// in twos: paraphrases of a task are positives, the same wording of its partner task a negative,
// so each two-task group is one component a question split holds out whole.
#pragma once

#include <filesystem>

namespace aicache::test {

inline constexpr size_t kParaphraseTasks = 80;

// Writes the pairs of tasks [first, first + count) (count even) to `file` and returns it.
std::filesystem::path write_paraphrase_pairs(const std::filesystem::path &file, size_t first = 0, size_t count = 40);

} // namespace aicache::test
