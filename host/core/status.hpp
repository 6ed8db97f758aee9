// Status and Expected<T>: the error currency of host control code (load, check, swap, store).
// Both are [[nodiscard]]: an ignored failure is a compile warning, and warnings are errors.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <optional>
#include <utility>
#include <variant>

namespace aicache {

enum class Errc {
    ok,
    invalid_argument, // the caller's input is wrong
    not_found,
    io,               // file system or database
    abi,              // a plugin speaks another ABI or fills it wrongly
    plugin,           // a plugin call failed or broke its contract
    corrupt,          // bytes on disk or from a plugin are not what they claim
    busy,             // refused for now: try again later
    timeout,
    internal,
};

const char *to_string(Errc code) noexcept;
// The code to_string named (a status that crossed a process boundary as text); none for another name.
std::optional<Errc> errc_named(std::string_view name) noexcept;

class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
    static Status ok() { return {}; }

    [[nodiscard]] bool is_ok() const noexcept { return code_ == Errc::ok; }
    explicit operator bool() const noexcept { return is_ok(); }
    [[nodiscard]] Errc code() const noexcept { return code_; }
    [[nodiscard]] const std::string &message() const noexcept { return message_; }
    // "message" for users; the code is for programs.
    [[nodiscard]] std::string to_string() const { return is_ok() ? "ok" : message_; }
    // Adds context in front: "loading lru.so: " + message.
    [[nodiscard]] Status with_context(const std::string &context) const {
        return is_ok() ? *this : Status(code_, context + ": " + message_);
    }

private:
    Errc code_ = Errc::ok;
    std::string message_;
};

template <class T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Expected(Status error) : state_(std::in_place_index<1>, std::move(error)) { assert(!std::get<1>(state_).is_ok()); }

    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T &value() & { return std::get<0>(state_); }
    const T &value() const & { return std::get<0>(state_); }
    T &&value() && { return std::get<0>(std::move(state_)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    [[nodiscard]] const Status &error() const { return std::get<1>(state_); }

private:
    std::variant<T, Status> state_;
};

} // namespace aicache
