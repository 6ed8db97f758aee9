// Reads the flat JSON object a plugin receives in on_create: {"capacity_bytes": 1048576, "ratio": 0.1}.
// Plugins include only plugin-api/, so this is a small self-contained reader for one level of
// string/number/bool/null values; nested values are rejected with a message naming the key.
#pragma once

#include <aicache/sdk/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace aicache::sdk {

class Config {
public:
    static Config parse(std::string_view json) {
        Config config;
        Parser parser{json};
        parser.parse_object(config.values_);
        return config;
    }

    [[nodiscard]] bool has(const std::string &key) const { return values_.count(key) != 0; }

    // A copy with key set to value (its text, as JSON would give it): how a policy configures the
    // policies it runs inside itself, such as a portfolio's experts.
    [[nodiscard]] Config with(const std::string &key, std::string_view value) const {
        Config copy = *this;
        copy.values_[key] = std::string(value);
        return copy;
    }

    [[nodiscard]] double number(const std::string &key, double fallback) const {
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        errno = 0;
        char *end = nullptr;
        double value = std::strtod(it->second.c_str(), &end);
        if (end == it->second.c_str() || *end != '\0' || errno == ERANGE)
            throw invalid_argument("config \"" + key + "\": expected a number, got " + it->second);
        return value;
    }

    [[nodiscard]] uint64_t unsigned_integer(const std::string &key, uint64_t fallback) const {
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        errno = 0;
        char *end = nullptr;
        const std::string &text = it->second;
        if (text.empty() || text[0] == '-')
            throw invalid_argument("config \"" + key + "\": expected a non-negative integer, got " + text);
        unsigned long long value = std::strtoull(text.c_str(), &end, 10);
        if (end == text.c_str() || *end != '\0' || errno == ERANGE)
            throw invalid_argument("config \"" + key + "\": expected a non-negative integer, got " + text);
        return value;
    }

    [[nodiscard]] std::string text(const std::string &key, const std::string &fallback) const {
        auto it = values_.find(key);
        return it == values_.end() ? fallback : it->second;
    }

private:
    struct Parser {
        std::string_view in;
        size_t pos = 0;

        [[noreturn]] void fail(const std::string &what) const {
            throw invalid_argument("config JSON at byte " + std::to_string(pos) + ": " + what);
        }
        void skip_space() {
            while (pos < in.size() && (in[pos] == ' ' || in[pos] == '\t' || in[pos] == '\n' || in[pos] == '\r')) ++pos;
        }
        char peek() {
            skip_space();
            if (pos >= in.size()) fail("unexpected end");
            return in[pos];
        }
        void expect(char c) {
            if (peek() != c) fail(std::string("expected '") + c + "'");
            ++pos;
        }
        std::string parse_string() {
            expect('"');
            std::string out;
            while (pos < in.size() && in[pos] != '"') {
                char c = in[pos++];
                if (c != '\\') {
                    out.push_back(c);
                    continue;
                }
                if (pos >= in.size()) fail("unterminated escape");
                char e = in[pos++];
                switch (e) {
                case 'n': out.push_back('\n'); break;
                case 't': out.push_back('\t'); break;
                case 'r': out.push_back('\r'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case '"': case '\\': case '/': out.push_back(e); break;
                default: fail("unsupported escape \\" + std::string(1, e));
                }
            }
            if (pos >= in.size()) fail("unterminated string");
            ++pos;
            return out;
        }
        std::string parse_scalar(const std::string &key) {
            char c = peek();
            if (c == '"') return parse_string();
            if (c == '{' || c == '[') fail("value of \"" + key + "\" must be a string, number or bool");
            size_t start = pos;
            while (pos < in.size() && in[pos] != ',' && in[pos] != '}' && in[pos] != ' ' && in[pos] != '\n' &&
                   in[pos] != '\t' && in[pos] != '\r')
                ++pos;
            std::string token(in.substr(start, pos - start));
            if (token.empty()) fail("missing value for \"" + key + "\"");
            return token;
        }
        void parse_object(std::map<std::string, std::string> &out) {
            skip_space();
            if (pos == in.size()) return; // empty config means all defaults
            expect('{');
            if (peek() == '}') {
                ++pos;
                return;
            }
            for (;;) {
                std::string key = parse_string();
                expect(':');
                out[key] = parse_scalar(key);
                char c = peek();
                ++pos;
                if (c == '}') break;
                if (c != ',') fail("expected ',' or '}'");
            }
            skip_space();
            if (pos != in.size()) fail("trailing characters after the object");
        }
    };

    std::map<std::string, std::string> values_;
};

} // namespace aicache::sdk
