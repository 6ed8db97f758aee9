// The dot product the semantic index ranks by, with the SIMD chosen when the process starts, not
// when it is built: Debian's packages are built for baseline x86-64, and hnswlib picks its own
// SIMD at compile time (so our portable build never used AVX). On a CPU with AVX2 and FMA the
// vectorised kernel runs; elsewhere a portable loop the compiler can still vectorise with SSE2.
#pragma once

#include <cstddef>

namespace aicache::cache {

using DotProduct = float (*)(const float *a, const float *b, size_t n) noexcept;

float dot_portable(const float *a, const float *b, size_t n) noexcept;
// Null when this CPU lacks AVX2 or FMA.
DotProduct dot_avx2_if_supported() noexcept;
// The fastest this CPU runs.
DotProduct best_dot_product() noexcept;

} // namespace aicache::cache
