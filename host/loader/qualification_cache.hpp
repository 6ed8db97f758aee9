// Passed qualifications, remembered across processes. Qualifying a plugin in a child costs the
// child's start-up and the kind's conformance suite (5.8 s for the LibTorch encoder), and every
// `learner`, `optimize` and `serve` command qualifies the plugins it opens; an unchanged plugin
// under an unchanged aicache binary would pass again, so its pass is looked up instead.
//
// A record is keyed by the SHA-256 of the plugin's bytes and of the qualifying binary (which
// holds the conformance suites): rebuilding either qualifies afresh. Only passes are kept, so a
// refusal is always re-examined. The records are a cache: deleting the folder costs only time.
// What the key cannot see are the shared libraries a plugin links (an upgraded LibTorch); the
// loader still checks the library's ABI and descriptor on every load, and `aicache plugin check`
// always runs the child.
#pragma once

#include "loader/qualify.hpp"

#include <filesystem>

namespace aicache::loader {

// $AICACHE_QUALIFIED_DIR, else $XDG_CACHE_HOME/aicache/qualified, else ~/.cache/aicache/qualified.
std::filesystem::path qualification_cache_dir();

// qualify_in_child, unless these very bytes already passed under this very binary. The verdict's
// content_hash names the bytes it vouches for: a caller that loads the file afterwards compares
// it with what it mapped, so a file replaced in between is not trusted.
Verdict qualify_remembered(const std::filesystem::path &file, const QualifyOptions &options,
                           const std::filesystem::path &cache_dir = qualification_cache_dir());

} // namespace aicache::loader
