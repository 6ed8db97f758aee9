#include "cache/dot_product.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace aicache::cache {

float dot_portable(const float *a, const float *b, size_t n) noexcept {
    // Four partial sums: independent chains the compiler keeps in SSE registers.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

#if defined(__x86_64__)
namespace {

__attribute__((target("avx2,fma"))) float dot_avx2(const float *a, const float *b, size_t n) noexcept {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
    float sum = _mm_cvtss_f32(half);
    for (; i < n; ++i) sum += a[i] * b[i];
    return sum;
}

} // namespace

DotProduct dot_avx2_if_supported() noexcept {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &dot_avx2 : nullptr;
}
#else
DotProduct dot_avx2_if_supported() noexcept { return nullptr; }
#endif

DotProduct best_dot_product() noexcept {
    static const DotProduct chosen = [] {
        DotProduct simd = dot_avx2_if_supported();
        return simd != nullptr ? simd : &dot_portable;
    }();
    return chosen;
}

} // namespace aicache::cache
