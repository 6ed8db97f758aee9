#include "aicache/jit/report.hpp"

#include <nlohmann/json.hpp>

namespace aicache::jit {

std::string Finding::to_string() const {
    std::string where = file.empty() ? std::string("patch") : file;
    if (line != 0) where += ":" + std::to_string(line) + ":" + std::to_string(column);
    return where + ": [" + rule + "] " + message;
}

void to_json(nlohmann::json &out, const Finding &f) {
    out = {{"rule", f.rule}, {"file", f.file}, {"line", f.line}, {"column", f.column}, {"message", f.message}};
}

void from_json(const nlohmann::json &in, Finding &f) {
    f.rule = in.value("rule", "");
    f.file = in.value("file", "");
    f.line = in.value("line", 0u);
    f.column = in.value("column", 0u);
    f.message = in.value("message", "");
}

} // namespace aicache::jit
