// Float vectors inside learner requests: standard base64 (RFC 4648, with padding) of
// little-endian float32 values, and the `relate` request (see learner.hpp) in one fixed spelling
// that a plugin can read without a JSON library. A semantic lookup sends a query and a few
// neighbours of 128 floats each; parsing them with nlohmann costs ~40 µs of a ~200 µs budget.
// Header-only and standard-library-only: a plugin builds against plugin-api/ and nothing else.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace aicache::sdk {

namespace detail {

// Each character's 6-bit value, 0xff for characters outside the alphabet. Callers keep the table
// in a local constexpr, not a namespace-scope or static one: those become (GNU-unique) symbols
// of every plugin that includes this header.
constexpr std::array<uint8_t, 256> base64_values() {
    std::array<uint8_t, 256> t{};
    t.fill(0xff);
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
    return t;
}

inline void append_base64(std::string &out, const float *values, size_t count) {
    static_assert(sizeof(float) == 4, "float32 values are 4 bytes");
    constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::vector<unsigned char> swapped;
    const unsigned char *bytes = reinterpret_cast<const unsigned char *>(values);
    if constexpr (std::endian::native != std::endian::little) {
        swapped.resize(count * sizeof(float));
        for (size_t i = 0; i < count; ++i) {
            uint32_t bits = std::bit_cast<uint32_t>(values[i]);
            for (size_t b = 0; b < 4; ++b) swapped[4 * i + b] = static_cast<unsigned char>(bits >> (8 * b));
        }
        bytes = swapped.data();
    }
    const size_t n = count * sizeof(float);
    size_t at = out.size();
    out.resize(at + (n + 2) / 3 * 4);
    char *o = out.data();
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t triple = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
        o[at++] = alphabet[triple >> 18];
        o[at++] = alphabet[(triple >> 12) & 63];
        o[at++] = alphabet[(triple >> 6) & 63];
        o[at++] = alphabet[triple & 63];
    }
    if (i < n) {
        uint32_t triple = uint32_t(bytes[i]) << 16 | (i + 1 < n ? uint32_t(bytes[i + 1]) << 8 : 0u);
        o[at++] = alphabet[triple >> 18];
        o[at++] = alphabet[(triple >> 12) & 63];
        o[at++] = i + 1 < n ? alphabet[(triple >> 6) & 63] : '=';
        o[at++] = '=';
    }
}

} // namespace detail

inline std::string encode_floats_base64(const float *values, size_t count) {
    std::string out;
    detail::append_base64(out, values, count);
    return out;
}

// Decodes `text` into `out` (resized to the number of floats). Refuses (returns false) anything
// but canonical padded base64 of a whole number of float32 values; `out` then holds no meaning.
inline bool decode_floats_base64(std::string_view text, std::vector<float> &out) {
    constexpr std::array<uint8_t, 256> values = detail::base64_values();
    if (text.size() % 4 != 0) return false;
    size_t padding = 0;
    if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
    const size_t byte_count = text.size() / 4 * 3 - padding;
    if (byte_count % sizeof(float) != 0) return false;
    out.resize(byte_count / sizeof(float));
    unsigned char *bytes = reinterpret_cast<unsigned char *>(out.data());
    // The last quad with its '=' read as 'A' (zero bits); an '=' anywhere else is invalid.
    const size_t whole = text.size() - (padding != 0 ? 4 : 0);
    char last[4] = {'A', 'A', 'A', 'A'};
    if (padding != 0) std::memcpy(last, text.data() + whole, 4 - padding);
    size_t at = 0;
    for (size_t i = 0; i < text.size(); i += 4) {
        const char *q = i < whole ? text.data() + i : last;
        const uint8_t a = values[static_cast<unsigned char>(q[0])], b = values[static_cast<unsigned char>(q[1])],
                      c = values[static_cast<unsigned char>(q[2])], d = values[static_cast<unsigned char>(q[3])];
        if ((a | b | c | d) & 0x80) return false;
        const uint32_t triple = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6 | d;
        const size_t take = i < whole ? 3 : 3 - padding;
        if (take < 3 && (triple & (take == 1 ? 0xffffu : 0xffu)) != 0) return false; // non-canonical: bits under the padding
        bytes[at++] = static_cast<unsigned char>(triple >> 16);
        if (take > 1) bytes[at++] = static_cast<unsigned char>(triple >> 8);
        if (take > 2) bytes[at++] = static_cast<unsigned char>(triple);
    }
    if constexpr (std::endian::native != std::endian::little) {
        for (float &f : out) {
            uint32_t bits = 0;
            unsigned char *b = reinterpret_cast<unsigned char *>(&f);
            for (size_t k = 0; k < 4; ++k) bits |= uint32_t(b[k]) << (8 * k);
            f = std::bit_cast<float>(bits);
        }
    }
    return true;
}

// The fixed spelling of a relate request: {"op":"relate","query":"<b64>","candidates":["<b64>",...]}
// with no spaces; query and every candidate hold `dim` floats.
inline std::string write_relate_request(const float *query, size_t dim, const std::vector<const float *> &candidates) {
    std::string out;
    out.reserve(48 + (candidates.size() + 1) * ((dim * sizeof(float) + 2) / 3 * 4 + 3));
    out += R"({"op":"relate","query":")";
    detail::append_base64(out, query, dim);
    out += R"(","candidates":[)";
    for (size_t i = 0; i < candidates.size(); ++i) {
        out += i == 0 ? "\"" : ",\"";
        detail::append_base64(out, candidates[i], dim);
        out += '"';
    }
    out += "]}";
    return out;
}

// Reads exactly what write_relate_request writes (any number of floats per vector; checking them
// against the learner's dim is the caller's job). Anything else, valid JSON in another spelling
// included, returns false, and the caller falls back to a JSON parser; `query` and `candidates`
// then hold no meaning.
inline bool read_relate_request(std::string_view request, std::vector<float> &query, std::vector<std::vector<float>> &candidates) {
    auto take = [&](std::string_view literal) {
        if (request.substr(0, literal.size()) != literal) return false;
        request.remove_prefix(literal.size());
        return true;
    };
    // Base64 has no '"' or '\\': the string ends at the next quote, and an escape fails to decode.
    auto take_vector = [&](std::vector<float> &out) {
        size_t end = request.find('"');
        if (end == std::string_view::npos || !decode_floats_base64(request.substr(0, end), out)) return false;
        request.remove_prefix(end + 1);
        return true;
    };
    if (!take(R"({"op":"relate","query":")") || !take_vector(query) || !take(R"(,"candidates":[)")) return false;
    size_t count = 0;
    if (!take("]")) {
        do {
            if (!take("\"")) return false;
            if (candidates.size() <= count) candidates.emplace_back();
            if (!take_vector(candidates[count++])) return false;
        } while (take(","));
        if (!take("]")) return false;
    }
    candidates.resize(count);
    return take("}") && request.empty();
}

} // namespace aicache::sdk
