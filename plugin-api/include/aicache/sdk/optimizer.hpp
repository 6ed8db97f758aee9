// Write an ask/tell optimizer as a plain C++ class and expose it with one macro:
//
//   class RandomSearch {
//   public:
//       static constexpr const char *state_format = "random/1";  // optional: enables resume
//       explicit RandomSearch(std::string_view search_space_json);  // "{}" must give a default space
//       std::string ask();                                         // the next candidate, a JSON object with "id"
//       void tell(std::string_view candidate_json, double score);  // a measured score, higher is better
//       std::string best() const;                                  // best told candidate; throw not_found() before any
//       // optional: void save_state(StateWriter &) const; void load_state(StateReader &); void clear();
//   };
//   AICACHE_OPTIMIZER_PLUGIN(RandomSearch, "random", "1.0.0")
//
// The contract the host relies on (and the optimizer conformance suite checks): a candidate is
// {"id": ..., "params": {...}} or {"id": ..., "template": NAME, "params": {...}} (the host renders
// one of its patch templates) or {"id": ..., "source": "C++ policy patch"}; tell takes back a
// candidate that ask produced (at least its "id"); a saved state, loaded into a fresh instance,
// continues the search exactly where it stopped: the next ask is the one the saver would have made.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/error.hpp>
#include <aicache/sdk/guard.hpp>
#include <aicache/sdk/state.hpp>

#include <string>
#include <string_view>

namespace aicache::sdk {

inline Error not_found(const std::string &message) { return Error(AICACHE_ERR_NOT_FOUND, message); }

} // namespace aicache::sdk

namespace aicache::sdk::detail {

template <class O>
struct OptimizerTrampolines {
    static constexpr bool has_state = requires(O &o, const O &co, StateWriter &w, StateReader &r) {
        co.save_state(w);
        o.load_state(r);
        o.clear();
        O::state_format;
    };

    static O &self(aicache_optimizer *handle) noexcept { return *reinterpret_cast<O *>(handle); }

    static aicache_status create(const char *json, size_t len, aicache_optimizer **out) noexcept {
        if (out == nullptr) return AICACHE_ERR_INVALID_ARGUMENT;
        *out = nullptr;
        return guarded([&] {
            std::string_view space = json == nullptr || len == 0 ? std::string_view("{}") : std::string_view(json, len);
            *out = reinterpret_cast<aicache_optimizer *>(new O(space));
        });
    }
    static void destroy(aicache_optimizer *handle) noexcept { delete reinterpret_cast<O *>(handle); }
    static aicache_status ask(aicache_optimizer *h, const aicache_writer *out) noexcept {
        return guarded([&] { write_text(out, self(h).ask()); });
    }
    static aicache_status tell(aicache_optimizer *h, aicache_bytes candidate, double score) noexcept {
        return guarded([&] {
            std::string_view text(static_cast<const char *>(candidate.data), candidate.data ? candidate.size : 0);
            self(h).tell(text, score);
        });
    }
    static aicache_status best(aicache_optimizer *h, const aicache_writer *out) noexcept {
        return guarded([&] { write_text(out, static_cast<const O &>(self(h)).best()); });
    }
    static aicache_status save_state(aicache_optimizer *h, const aicache_writer *out) noexcept {
        if constexpr (has_state) {
            return guarded([&] {
                StateWriter writer(out);
                static_cast<const O &>(self(h)).save_state(writer);
                writer.flush();
            });
        }
        return AICACHE_ERR_UNSUPPORTED;
    }
    static aicache_status load_state(aicache_optimizer *h, aicache_bytes state) noexcept {
        if constexpr (has_state) {
            aicache_status status = guarded([&] {
                StateReader reader(state);
                self(h).load_state(reader);
                reader.expect_end();
            });
            if (status != AICACHE_OK) guarded([&] { self(h).clear(); }); // left fresh and usable
            return status;
        }
        return AICACHE_ERR_UNSUPPORTED;
    }

    static constexpr const char *format() noexcept {
        if constexpr (has_state) return O::state_format;
        return "";
    }

    static constexpr aicache_optimizer_vtable vtable = {
        sizeof(aicache_optimizer_vtable), AICACHE_ABI_MAJOR, AICACHE_ABI_MINOR, format(),
        &create, &destroy, &ask, &tell, &best, &save_state, &load_state,
    };
};

} // namespace aicache::sdk::detail

// Defines the library's entry point for optimizer class CLASS. NAME and VERSION are string literals.
#define AICACHE_OPTIMIZER_PLUGIN(CLASS, NAME, VERSION)                                                           \
    AICACHE_EXPORT aicache_status aicache_plugin_init(const aicache_host_api *host,                               \
                                                      aicache_plugin_descriptor *out) {                           \
        using aicache_trampolines_ = ::aicache::sdk::detail::OptimizerTrampolines<CLASS>;                          \
        return ::aicache::sdk::detail::init_descriptor(                                                          \
            host, out, AICACHE_KIND_OPTIMIZER, NAME, VERSION,                                                      \
            aicache_trampolines_::has_state ? AICACHE_CAP_STATE_MIGRATION : 0, &aicache_trampolines_::vtable);    \
    }
