// Prompt canonicalization: rewrites of a question's text that should not change its answer, applied
// before the exact key is taken, so questions that differ only in them hit the same entry. Which
// rewrites are safe is measured, not assumed (`aicache eval canon`, the canon optimizer): each
// must raise exact hits on labelled pairs without raising false ones.
//
// A text is prose with fenced code blocks (``` ... ```); prose steps never touch code, code steps
// never touch prose:
//   whitespace   prose: runs of white space become one space, ends trimmed
//   case         prose: ASCII letters lower-cased
//   punctuation  prose: . , ; : ! ? " ' ( ) at a word's edge dropped ("node.js", "3.5" and "c++" keep theirs)
//   code         code: tabs as four spaces, trailing spaces and blank edge lines dropped, the fence's language lower-cased
//   identifiers  code: names a snippet declares or assigns renamed v1, v2, ... in order of first use
//                (keywords, called functions and members keep their names)
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::cache {

enum CanonStep : uint32_t {
    kCanonWhitespace = 1,
    kCanonCase = 2,
    kCanonPunctuation = 4,
    kCanonCode = 8,
    kCanonIdentifiers = 16,
};

struct PromptCanon {
    uint32_t steps = 0;

    [[nodiscard]] std::string apply(std::string_view text) const;
    [[nodiscard]] bool empty() const noexcept { return steps == 0; }
    // "whitespace,case" (any order), "none" or "" for no step; unknown names are an error.
    static Expected<PromptCanon> parse(std::string_view list);
    [[nodiscard]] std::string name() const; // the steps in the order above, comma-separated; "none"
};

// Every step's name, in order.
const std::vector<std::string> &canon_step_names();

} // namespace aicache::cache
