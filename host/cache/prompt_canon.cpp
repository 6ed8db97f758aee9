#include "cache/prompt_canon.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace aicache::cache {
namespace {

struct Segment {
    bool code = false;
    std::string text; // for code: the fence's info line, "\n", then the body
};

// Prose and fenced code, in order. An unclosed fence runs to the end.
std::vector<Segment> segments(std::string_view text) {
    std::vector<Segment> out;
    size_t at = 0;
    while (at < text.size()) {
        size_t fence = text.find("```", at);
        if (fence == std::string_view::npos) {
            out.push_back({false, std::string(text.substr(at))});
            break;
        }
        if (fence > at) out.push_back({false, std::string(text.substr(at, fence - at))});
        size_t close = text.find("```", fence + 3);
        size_t end = close == std::string_view::npos ? text.size() : close;
        out.push_back({true, std::string(text.substr(fence + 3, end - fence - 3))});
        at = close == std::string_view::npos ? text.size() : close + 3;
    }
    return out;
}

bool space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string collapse_whitespace(const std::string &s) {
    std::string out;
    bool pending = false;
    for (char c : s) {
        if (space(c)) {
            pending = !out.empty();
            continue;
        }
        if (pending) out += ' ';
        pending = false;
        out += c;
    }
    return out;
}

bool edge_punctuation(char c) { return std::string_view(".,;:!?\"'()").find(c) != std::string_view::npos; }

// Drops edge punctuation: a mark is kept only with a word character on both sides.
std::string drop_punctuation(const std::string &s) {
    std::string out;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || static_cast<unsigned char>(c) >= 0x80; };
    for (size_t i = 0; i < s.size(); ++i) {
        if (edge_punctuation(s[i]) && !(i > 0 && i + 1 < s.size() && word(s[i - 1]) && word(s[i + 1]))) continue;
        out += s[i];
    }
    return out;
}

std::string normalize_code(const std::string &block) {
    size_t newline = block.find('\n');
    std::string info = newline == std::string::npos ? block : block.substr(0, newline);
    std::string body = newline == std::string::npos ? "" : block.substr(newline + 1);
    for (char &c : info) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!info.empty() && space(info.back())) info.pop_back();
    while (!info.empty() && space(info.front())) info.erase(info.begin());
    std::vector<std::string> lines;
    std::string line;
    for (char c : body + "\n") {
        if (c == '\r') continue;
        if (c != '\n') {
            line += c == '\t' ? std::string(4, ' ') : std::string(1, c);
            continue;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        lines.push_back(std::move(line));
        line.clear();
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    while (!lines.empty() && lines.front().empty()) lines.erase(lines.begin());
    std::string out = info + "\n";
    for (const auto &l : lines) out += l + "\n";
    return out;
}

const std::set<std::string> &keywords() {
    static const std::set<std::string> words = {
        "and", "as", "assert", "async", "await", "auto", "bool", "break", "case", "catch", "char", "class", "const", "continue", "def", "default",
        "del", "delete", "do", "double", "elif", "else", "enum", "except", "export", "extends", "false", "False", "final", "finally", "float",
        "fn", "for", "from", "func", "function", "global", "go", "if", "impl", "import", "in", "int", "interface", "is", "lambda", "let", "long",
        "match", "mut", "namespace", "new", "nil", "None", "nonlocal", "not", "null", "nullptr", "or", "package", "pass", "private",
        "protected", "pub", "public", "raise", "return", "self", "short", "signed", "static", "string", "struct", "super", "switch",
        "template", "this", "throw", "true", "True", "try", "type", "typedef", "typename", "unsigned", "use", "using", "var", "virtual",
        "void", "while", "with", "yield"};
    return words;
}

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// Renames the names a snippet binds: assigned with `=`, or declared after let, var, const, auto,
// int or for (parameters are not recognised). Two snippets that differ only in those names become
// equal; a call to another function, or another member, still differs.
std::string rename_identifiers(const std::string &block) {
    // Pass 1: tokens, and which names are bound.
    struct Token {
        size_t begin, end;
    };
    std::vector<Token> names;
    std::set<std::string> bound;
    auto next_non_space = [&](size_t i) {
        while (i < block.size() && (block[i] == ' ' || block[i] == '\t')) ++i;
        return i;
    };
    std::string previous_name;
    for (size_t i = 0; i < block.size();) {
        char c = block[i];
        if (c == '"' || c == '\'') { // strings keep their contents
            size_t j = i + 1;
            while (j < block.size() && block[j] != c && block[j] != '\n') j += block[j] == '\\' ? 2 : 1;
            i = std::min(block.size(), j + 1);
            continue;
        }
        if (ident_start(c) && (i == 0 || !ident_char(block[i - 1]))) {
            size_t j = i;
            while (j < block.size() && ident_char(block[j])) ++j;
            std::string name = block.substr(i, j - i);
            names.push_back({i, j});
            size_t after = next_non_space(j);
            const bool member = i > 0 && block[i - 1] == '.';
            const bool assigned = after < block.size() && block[after] == '=' && (after + 1 >= block.size() || block[after + 1] != '=');
            const bool declared = previous_name == "let" || previous_name == "var" || previous_name == "const" || previous_name == "auto" ||
                                  previous_name == "int" || previous_name == "for";
            if (!member && !keywords().count(name) && (assigned || declared)) bound.insert(name);
            previous_name = name;
            i = j;
            continue;
        }
        if (!space(c)) previous_name.clear();
        ++i;
    }
    // Pass 2: rename the bound names everywhere they appear (not as members).
    std::map<std::string, std::string> renamed;
    std::string out;
    size_t at = 0;
    for (const Token &t : names) {
        std::string name = block.substr(t.begin, t.end - t.begin);
        if (!bound.count(name) || (t.begin > 0 && block[t.begin - 1] == '.')) continue;
        auto [it, fresh] = renamed.emplace(name, "");
        if (fresh) it->second = "v" + std::to_string(renamed.size());
        out += block.substr(at, t.begin - at) + it->second;
        at = t.end;
    }
    return out + block.substr(at);
}

} // namespace

const std::vector<std::string> &canon_step_names() {
    static const std::vector<std::string> names = {"whitespace", "case", "punctuation", "code", "identifiers"};
    return names;
}

std::string PromptCanon::apply(std::string_view text) const {
    if (steps == 0) return std::string(text);
    std::string out;
    for (Segment &s : segments(text)) {
        if (s.code) {
            if (steps & kCanonCode) s.text = normalize_code(s.text);
            if (steps & kCanonIdentifiers) s.text = rename_identifiers(s.text);
            if (!out.empty() && (steps & kCanonWhitespace) && out.back() != ' ') out += ' ';
            out += "```" + s.text + "```";
            continue;
        }
        if (steps & kCanonCase)
            for (char &c : s.text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (steps & kCanonPunctuation) s.text = drop_punctuation(s.text);
        if (steps & kCanonWhitespace) {
            std::string collapsed = collapse_whitespace(s.text);
            if (!collapsed.empty() && !out.empty() && out.back() != ' ') out += ' ';
            s.text = collapsed;
        }
        out += s.text;
    }
    return out;
}

Expected<PromptCanon> PromptCanon::parse(std::string_view list) {
    PromptCanon canon;
    if (list.empty() || list == "none") return canon;
    const auto &names = canon_step_names();
    size_t at = 0;
    while (at <= list.size()) {
        size_t comma = list.find(',', at);
        std::string_view item = list.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
        auto it = std::find(names.begin(), names.end(), item);
        if (it == names.end())
            return Status(Errc::invalid_argument, "unknown canonicalization step \"" + std::string(item) +
                                                      "\" (whitespace, case, punctuation, code, identifiers)");
        canon.steps |= 1u << (it - names.begin());
        if (comma == std::string_view::npos) break;
        at = comma + 1;
    }
    return canon;
}

std::string PromptCanon::name() const {
    std::string out;
    const auto &names = canon_step_names();
    for (size_t i = 0; i < names.size(); ++i)
        if (steps & (1u << i)) out += (out.empty() ? "" : ",") + names[i];
    return out.empty() ? "none" : out;
}

} // namespace aicache::cache
