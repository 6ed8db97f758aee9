#include "learning/tfidf.hpp"

#include "core/hash.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace aicache::learning {

std::vector<uint32_t> TfIdf::features(std::string_view text) const {
    std::vector<std::string> words;
    std::string current;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c >= 0x80) current += static_cast<char>(std::tolower(c));
        else if (!current.empty()) words.push_back(std::move(current)), current.clear();
    }
    if (!current.empty()) words.push_back(std::move(current));
    const uint64_t buckets = document_frequency_.size();
    std::vector<uint32_t> out;
    for (size_t i = 0; i < words.size(); ++i) {
        out.push_back(static_cast<uint32_t>(hash64(words[i], 1) % buckets));
        if (i + 1 < words.size()) out.push_back(static_cast<uint32_t>(hash64(words[i] + " " + words[i + 1], 2) % buckets));
        std::string marked = "<" + words[i] + ">";
        for (size_t j = 0; j + 3 <= marked.size(); ++j) out.push_back(static_cast<uint32_t>(hash64(std::string_view(marked).substr(j, 3), 3) % buckets));
    }
    return out;
}

void TfIdf::fit(const std::vector<std::string> &documents) {
    for (const auto &d : documents) {
        std::vector<uint32_t> f = features(d);
        std::sort(f.begin(), f.end());
        f.erase(std::unique(f.begin(), f.end()), f.end());
        for (uint32_t b : f) ++document_frequency_[b];
        ++documents_;
    }
}

TfIdf::SparseVector TfIdf::vector_of(std::string_view text) const {
    std::map<uint32_t, double> counts;
    for (uint32_t b : features(text)) counts[b] += 1;
    SparseVector v;
    double norm = 0;
    for (const auto &[b, tf] : counts) {
        double idf = std::log((1.0 + double(documents_)) / (1.0 + double(document_frequency_[b]))) + 1.0; // smoothed, as scikit-learn
        double w = tf * idf;
        v.emplace_back(b, w);
        norm += w * w;
    }
    norm = std::sqrt(norm);
    for (auto &[b, w] : v) w /= norm;
    return v;
}

double TfIdf::similarity(std::string_view a, std::string_view b) const {
    SparseVector x = vector_of(a), y = vector_of(b);
    if (x.empty() || y.empty()) return 0;
    double dot = 0;
    for (size_t i = 0, j = 0; i < x.size() && j < y.size();) {
        if (x[i].first == y[j].first) dot += x[i++].second * y[j++].second;
        else if (x[i].first < y[j].first) ++i;
        else ++j;
    }
    return std::clamp(dot, 0.0, 1.0);
}

} // namespace aicache::learning
