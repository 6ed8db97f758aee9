// Write a learner as a plain C++ class and expose it with one macro:
//
//   class Encoder {
//   public:
//       static constexpr const char *state_format = "encoder/1";  // optional: checkpoints, rollback
//       explicit Encoder(const aicache::sdk::Config &config);      // "{}" must give a working default
//       void observe(const aicache_example &example);              // a labelled pair or an access record
//       std::string train(uint64_t budget_ms);                     // a JSON object of measured metrics
//       void infer(std::string_view request_json, aicache::sdk::Output &out);
//       // optional: void save_state(StateWriter &) const; void load_state(StateReader &); void clear();
//   };
//   AICACHE_LEARNER_PLUGIN(Encoder, "encoder", "1.0.0")
//
// What the host asks of a matching learner through infer (requests are JSON objects with "op"):
//   {"op": "info"}                          -> JSON: {"kind": "...", "dim": N, ...}
//   {"op": "embed", "texts": ["...", ...]}  -> N x dim little-endian float32, each row L2-normalised
//   {"op": "match", "pairs": [["a", "b"], ...]} -> one little-endian float32 per pair: the learner's
//                                              estimate that b may be answered with a's answer
//   {"op": "relate", "query": "<b64>", "candidates": ["<b64>", ...]}
//                                           -> one little-endian float32 per candidate: match's
//                                              estimate with a = the candidate's text, b = the
//                                              query's, on embeddings the host already holds (from
//                                              embed), so a lookup embeds only the new question.
//                                              <b64>: standard padded base64 of dim little-endian
//                                              float32 values. sdk/vectors.hpp writes the request in
//                                              one fixed spelling and reads it without a JSON parser;
//                                              a learner still accepts any JSON spelling.
// A learner answers the ops it supports and refuses the others with AICACHE_ERR_UNSUPPORTED.
#pragma once

#include <aicache/abi.h>
#include <aicache/sdk/config.hpp>
#include <aicache/sdk/error.hpp>
#include <aicache/sdk/guard.hpp>
#include <aicache/sdk/state.hpp>

#include <string>
#include <string_view>

namespace aicache::sdk {

inline Error unsupported(const std::string &message) { return Error(AICACHE_ERR_UNSUPPORTED, message); }

// Where infer writes its answer: text, or raw float32 values (in the host's byte order, which on
// every platform aicache runs on is little-endian).
class Output {
public:
    explicit Output(const aicache_writer *out) : out_(out) {}
    void text(std::string_view s) { write_text(out_, s); }
    void floats(const float *values, size_t count) {
        aicache_status status = out_->write(out_->host_ctx, values, count * sizeof(float));
        if (status != AICACHE_OK) throw Error(status, "host writer refused output");
    }

private:
    const aicache_writer *out_;
};

} // namespace aicache::sdk

namespace aicache::sdk::detail {

template <class L>
struct LearnerTrampolines {
    static constexpr bool has_state = requires(L &l, const L &cl, StateWriter &w, StateReader &r) {
        cl.save_state(w);
        l.load_state(r);
        l.clear();
        L::state_format;
    };

    static L &self(aicache_learner *handle) noexcept { return *reinterpret_cast<L *>(handle); }

    static aicache_status create(const char *json, size_t len, aicache_learner **out) noexcept {
        if (out == nullptr) return AICACHE_ERR_INVALID_ARGUMENT;
        *out = nullptr;
        return guarded([&] {
            Config config = Config::parse(json == nullptr ? std::string_view{} : std::string_view(json, len));
            *out = reinterpret_cast<aicache_learner *>(new L(config));
        });
    }
    static void destroy(aicache_learner *handle) noexcept { delete reinterpret_cast<L *>(handle); }
    static aicache_status observe(aicache_learner *h, const aicache_example *example) noexcept {
        if (example == nullptr) return AICACHE_ERR_INVALID_ARGUMENT;
        return guarded([&] { self(h).observe(*example); });
    }
    static aicache_status train(aicache_learner *h, uint64_t budget_ms, const aicache_writer *metrics) noexcept {
        return guarded([&] { write_text(metrics, self(h).train(budget_ms)); });
    }
    static aicache_status infer(aicache_learner *h, aicache_bytes request, const aicache_writer *out) noexcept {
        return guarded([&] {
            Output output(out);
            self(h).infer(std::string_view(static_cast<const char *>(request.data), request.data ? request.size : 0), output);
        });
    }
    static aicache_status save_state(aicache_learner *h, const aicache_writer *out) noexcept {
        if constexpr (has_state) {
            return guarded([&] {
                StateWriter writer(out);
                static_cast<const L &>(self(h)).save_state(writer);
                writer.flush();
            });
        }
        return AICACHE_ERR_UNSUPPORTED;
    }
    static aicache_status load_state(aicache_learner *h, aicache_bytes state) noexcept {
        if constexpr (has_state) {
            aicache_status status = guarded([&] {
                StateReader reader(state);
                self(h).load_state(reader);
                reader.expect_end();
            });
            if (status != AICACHE_OK) guarded([&] { self(h).clear(); }); // back to its untrained start, usable
            return status;
        }
        return AICACHE_ERR_UNSUPPORTED;
    }

    static constexpr const char *format() noexcept {
        if constexpr (has_state) return L::state_format;
        return "";
    }

    static constexpr aicache_learner_vtable vtable = {
        sizeof(aicache_learner_vtable), AICACHE_ABI_MAJOR, AICACHE_ABI_MINOR, format(),
        &create, &destroy, &observe, &train, &infer, &save_state, &load_state,
    };
};

} // namespace aicache::sdk::detail

// Defines the library's entry point for learner class CLASS. NAME and VERSION are string literals.
#define AICACHE_LEARNER_PLUGIN(CLASS, NAME, VERSION)                                                             \
    AICACHE_EXPORT aicache_status aicache_plugin_init(const aicache_host_api *host,                               \
                                                      aicache_plugin_descriptor *out) {                           \
        using aicache_trampolines_ = ::aicache::sdk::detail::LearnerTrampolines<CLASS>;                            \
        return ::aicache::sdk::detail::init_descriptor(                                                          \
            host, out, AICACHE_KIND_LEARNER, NAME, VERSION,                                                        \
            aicache_trampolines_::has_state ? AICACHE_CAP_STATE_MIGRATION : 0, &aicache_trampolines_::vtable);    \
    }
