// Text to hashed features, the encoder's input: lower-cased word unigrams and bigrams, and the
// character trigrams of each word with boundary marks (fastText's subwords, Bojanowski et al.
// 2017), so spelling variants and unseen words still share features. Hashed (FNV-1a) into a fixed
// number of buckets: no vocabulary to build, store or grow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace encoder {

inline uint64_t fnv1a(std::string_view text, uint64_t seed = 1469598103934665603ull) {
    uint64_t h = seed;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

inline std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    for (unsigned char c : text) {
        bool word_char = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
        if (word_char) {
            current += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        } else if (!current.empty()) {
            out.push_back(std::move(current));
            current.clear();
        }
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
}

// Bucket ids of every feature of `text`, in [1, buckets); an empty text is the single bucket 0.
inline std::vector<int64_t> features(std::string_view text, uint64_t buckets) {
    std::vector<std::string> ws = words(text);
    std::vector<int64_t> out;
    if (ws.empty()) {
        out.push_back(0);
        return out;
    }
    auto add = [&](uint64_t h) { out.push_back(static_cast<int64_t>(1 + h % (buckets - 1))); };
    for (size_t i = 0; i < ws.size(); ++i) {
        add(fnv1a(ws[i], 0x77u));
        if (i + 1 < ws.size()) add(fnv1a(ws[i + 1], fnv1a(ws[i], 0x62u)));
        std::string marked = "<" + ws[i] + ">";
        for (size_t j = 0; j + 3 <= marked.size(); ++j) add(fnv1a(std::string_view(marked).substr(j, 3), 0x63u));
    }
    return out;
}

} // namespace encoder
