// The tune optimizer's search space: named numeric parameters with bounds, each real or integer,
// searched on a linear or a log scale. Real parameters are searched in [0, 1] (log-scaled ones
// through their logarithm), integer ones as the integers themselves, so every method sees one
// well-conditioned box and dlib knows which coordinates are integral.
#pragma once

#include <aicache/sdk/error.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace tune {

struct Parameter {
    std::string name;
    double min = 0, max = 1;
    bool integer = false, log = false;
    // Where the search starts (usually the default): a real parameter's start is mapped to 0.5, the
    // centre of its interval, each half stretched linearly (on the parameter's scale) to its side
    // of the range; dlib evaluates the centre of the box first, so it starts there too (an integer
    // parameter, at the middle of its range: dlib's choice).
    double start = 0;
    bool has_start = false;

    // The search's coordinate for this parameter: an integer parameter is searched as the integer
    // itself (dlib keeps such coordinates integral), any other in the unit interval.
    [[nodiscard]] double lower() const { return integer ? min : 0; }
    [[nodiscard]] double upper() const { return integer ? max : 1; }
    // Where the search starts, as a coordinate (the centre of the unit interval, or the integer).
    [[nodiscard]] double start_coordinate() const { return integer ? start : 0.5; }

    // A coordinate -> the parameter's value.
    [[nodiscard]] double value(double x) const {
        if (integer) return std::fmin(max, std::fmax(min, std::round(x)));
        double lo = scaled(min), hi = scaled(max), v;
        if (has_start) {
            if (x == 0.5) return start; // exactly the start, not a rounding of it
            double mid = scaled(start);
            v = x < 0.5 ? lo + (x / 0.5) * (mid - lo) : mid + ((x - 0.5) / 0.5) * (hi - mid);
        } else {
            v = lo + x * (hi - lo);
        }
        return std::fmin(max, std::fmax(min, log ? std::exp(v) : v));
    }

private:
    [[nodiscard]] double scaled(double v) const { return log ? std::log(v) : v; }
};

// S3-FIFO's parameters (plugins/policies/s3fifo), the search when the space names none, starting
// at its defaults.
inline const char *const kDefaultParameters = R"({
    "small_ratio": {"min": 0.01, "max": 0.5, "log": true},
    "ghost_ratio": {"min": 0.0, "max": 2.0},
    "move_to_main_threshold": {"min": 1, "max": 3, "integer": true}})";
inline const char *const kDefaultStart = R"({"small_ratio": 0.1, "ghost_ratio": 0.9, "move_to_main_threshold": 2})";

inline std::vector<Parameter> parse_parameters(nlohmann::json space) {
    using aicache::sdk::invalid_argument;
    if (!space.contains("parameters") && !space.contains("start")) space["start"] = nlohmann::json::parse(kDefaultStart);
    nlohmann::json params = space.contains("parameters") ? space["parameters"] : nlohmann::json::parse(kDefaultParameters);
    if (!params.is_object() || params.empty()) throw invalid_argument("tune: \"parameters\" must be an object of {\"min\", \"max\"} bounds");
    std::vector<Parameter> out;
    for (const auto &[name, bounds] : params.items()) {
        if (!bounds.is_object() || !bounds.contains("min") || !bounds.contains("max") || !bounds["min"].is_number() || !bounds["max"].is_number())
            throw invalid_argument("tune: parameter \"" + name + "\" needs numeric \"min\" and \"max\"");
        Parameter p;
        p.name = name;
        p.min = bounds["min"].get<double>();
        p.max = bounds["max"].get<double>();
        p.integer = bounds.value("integer", false);
        p.log = bounds.value("log", false);
        if (!(p.min <= p.max)) throw invalid_argument("tune: parameter \"" + name + "\": min is above max");
        if (p.log && p.min <= 0) throw invalid_argument("tune: parameter \"" + name + "\": a log scale needs min > 0");
        if (space.contains("start")) {
            const auto &start = space["start"];
            if (!start.is_object() || !start.contains(name) || !start[name].is_number())
                throw invalid_argument("tune: \"start\" must give a number for every parameter (\"" + name + "\")");
            p.start = start[name].get<double>();
            p.has_start = true;
            if (p.start < p.min || p.start > p.max) throw invalid_argument("tune: \"start\": " + name + " lies outside its bounds");
        }
        out.push_back(p);
    }
    return out;
}

} // namespace tune
