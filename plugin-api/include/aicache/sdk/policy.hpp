// Write a cache policy as a plain C++ class and expose it with one macro:
//
//   class Lru {
//   public:
//       static constexpr const char *state_format = "lru/1";   // optional: enables warm hot swaps
//       explicit Lru(const aicache::sdk::Config &config);
//       void on_insert(const aicache_entry_meta &meta);
//       void on_hit(const aicache_entry_meta &meta);
//       void on_remove(uint64_t key);
//       std::optional<uint64_t> victim();                      // forget and return one resident key
//       // optional: bool admit(const aicache_entry_meta &); uint64_t ttl(const aicache_entry_meta &);
//       //           void save_state(StateWriter &) const; void load_state(StateReader &); void clear();
//       //           void stats(std::string &json) const;
//   };
//   AICACHE_POLICY_PLUGIN(Lru, "lru", "1.0.0")
//
// Throw aicache::sdk::Error (or anything) to fail a call; the trampolines catch it.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/config.hpp>
#include <aicache/sdk/guard.hpp>
#include <aicache/sdk/state.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace aicache::sdk::detail {

template <class P>
struct PolicyTrampolines {
    static constexpr bool has_state = requires(P &p, const P &cp, StateWriter &w, StateReader &r) {
        cp.save_state(w);
        p.load_state(r);
        p.clear();
        P::state_format;
    };
    static constexpr bool has_admit = requires(P &p, const aicache_entry_meta &m) { { p.admit(m) } -> std::convertible_to<bool>; };
    static constexpr bool has_ttl = requires(P &p, const aicache_entry_meta &m) { { p.ttl(m) } -> std::convertible_to<uint64_t>; };
    static constexpr bool has_stats = requires(const P &p, std::string &s) { p.stats(s); };

    static P &self(aicache_policy *handle) noexcept { return *reinterpret_cast<P *>(handle); }

    static aicache_status create(const char *json, size_t len, aicache_policy **out) noexcept {
        if (out == nullptr) return AICACHE_ERR_INVALID_ARGUMENT;
        *out = nullptr;
        return guarded([&] {
            Config config = Config::parse(json == nullptr ? std::string_view{} : std::string_view(json, len));
            *out = reinterpret_cast<aicache_policy *>(new P(config));
        });
    }
    static void destroy(aicache_policy *handle) noexcept {
        // A destructor that throws would terminate; policies own plain containers, so none do.
        delete reinterpret_cast<P *>(handle);
    }
    static aicache_status insert(aicache_policy *h, const aicache_entry_meta *m) noexcept {
        return guarded([&] { self(h).on_insert(*m); });
    }
    static aicache_status hit(aicache_policy *h, const aicache_entry_meta *m) noexcept {
        return guarded([&] { self(h).on_hit(*m); });
    }
    static aicache_status remove(aicache_policy *h, uint64_t key) noexcept {
        return guarded([&] { self(h).on_remove(key); });
    }
    static aicache_status victim(aicache_policy *h, uint64_t *out_key) noexcept {
        aicache_status status = AICACHE_OK;
        aicache_status call = guarded([&] {
            std::optional<uint64_t> key = self(h).victim();
            if (key) *out_key = *key;
            else status = AICACHE_ERR_NOT_FOUND;
        });
        return call != AICACHE_OK ? call : status;
    }
    static aicache_status admit(aicache_policy *h, const aicache_entry_meta *m, bool *out) noexcept {
        *out = true;
        if constexpr (has_admit) return guarded([&] { *out = static_cast<bool>(self(h).admit(*m)); });
        return AICACHE_OK;
    }
    static aicache_status ttl(aicache_policy *h, const aicache_entry_meta *m, uint64_t *out) noexcept {
        *out = 0;
        if constexpr (has_ttl) return guarded([&] { *out = static_cast<uint64_t>(self(h).ttl(*m)); });
        return AICACHE_OK;
    }
    static aicache_status save_state(aicache_policy *h, const aicache_writer *out) noexcept {
        if constexpr (has_state) {
            return guarded([&] {
                StateWriter writer(out);
                static_cast<const P &>(self(h)).save_state(writer);
                writer.flush();
            });
        }
        return AICACHE_ERR_UNSUPPORTED;
    }
    static aicache_status load_state(aicache_policy *h, aicache_bytes state) noexcept {
        if constexpr (has_state) {
            aicache_status status = guarded([&] {
                StateReader reader(state);
                self(h).load_state(reader);
                reader.expect_end();
            });
            if (status != AICACHE_OK) {
                // The contract: on failure the instance is left empty and usable.
                guarded([&] { self(h).clear(); });
            }
            return status;
        }
        return AICACHE_ERR_UNSUPPORTED;
    }
    static aicache_status stats(aicache_policy *h, const aicache_writer *out) noexcept {
        return guarded([&] {
            std::string json = "{}";
            if constexpr (has_stats) {
                json.clear();
                static_cast<const P &>(self(h)).stats(json);
            }
            write_text(out, json);
        });
    }

    static constexpr const char *format() noexcept {
        if constexpr (has_state) return P::state_format;
        return "";
    }
    static constexpr uint64_t capabilities() noexcept {
        return (has_state ? AICACHE_CAP_STATE_MIGRATION : 0) | (has_admit ? AICACHE_CAP_ADMISSION : 0) |
               (has_ttl ? AICACHE_CAP_TTL : 0);
    }

    static constexpr aicache_policy_vtable vtable = {
        sizeof(aicache_policy_vtable), AICACHE_ABI_MAJOR, AICACHE_ABI_MINOR, format(),
        &create, &destroy, &insert, &hit, &remove, &victim, &admit, &ttl, &save_state, &load_state, &stats,
    };
};

} // namespace aicache::sdk::detail

// Defines the library's entry point for policy class CLASS. NAME and VERSION are string literals.
#define AICACHE_POLICY_PLUGIN(CLASS, NAME, VERSION)                                                              \
    AICACHE_EXPORT aicache_status aicache_plugin_init(const aicache_host_api *host,                               \
                                                      aicache_plugin_descriptor *out) {                           \
        using aicache_trampolines_ = ::aicache::sdk::detail::PolicyTrampolines<CLASS>;                             \
        return ::aicache::sdk::detail::init_descriptor(host, out, AICACHE_KIND_POLICY, NAME, VERSION,            \
                                                       aicache_trampolines_::capabilities(),                      \
                                                       &aicache_trampolines_::vtable);                            \
    }
