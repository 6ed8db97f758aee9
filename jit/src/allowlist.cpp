#include "aicache/jit/allowlist.hpp"

#include "core/files.hpp"

#include <algorithm>

namespace aicache::jit {

void NamePatterns::add(std::string pattern) { exact_and_prefixes_.push_back(std::move(pattern)); }

bool NamePatterns::matches(std::string_view name) const {
    return std::any_of(exact_and_prefixes_.begin(), exact_and_prefixes_.end(), [&](const std::string &p) {
        if (!p.empty() && p.back() == '*') return name.substr(0, p.size() - 1) == std::string_view(p).substr(0, p.size() - 1);
        return name == p;
    });
}

bool Allowlist::allows_header(std::string_view spelled) const {
    return std::find(headers.begin(), headers.end(), spelled) != headers.end();
}

Expected<Allowlist> Allowlist::parse(std::string_view text, const std::string &where) {
    Allowlist list;
    list.text = std::string(text);
    enum { none, headers, calls, symbols } section = none;
    size_t line_number = 0;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++line_number;
        if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
        if (line.empty()) continue;
        if (line == "[headers]") section = headers;
        else if (line == "[calls]") section = calls;
        else if (line == "[symbols]") section = symbols;
        else if (line.front() == '[')
            return Status(Errc::invalid_argument, where + ":" + std::to_string(line_number) + ": unknown section " + std::string(line));
        else if (section == headers) list.headers.emplace_back(line);
        else if (section == calls) list.calls.add(std::string(line));
        else if (section == symbols) list.symbols.add(std::string(line));
        else return Status(Errc::invalid_argument, where + ":" + std::to_string(line_number) + ": entry before any [section]");
    }
    if (list.headers.empty()) return Status(Errc::invalid_argument, where + ": no [headers]: a patch could include nothing");
    return list;
}

Expected<Allowlist> Allowlist::load(const std::filesystem::path &path) {
    auto text = read_file(path);
    if (!text) return text.error();
    return parse(*text, path.string());
}

} // namespace aicache::jit
