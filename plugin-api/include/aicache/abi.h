/*
 * aicache plugin ABI, version 1.1 — the one contract between the aicache host and its plugins.
 *
 * Pure C (stdint/stddef/stdbool only); compiles as C11 and as C++20. Read plugin-api/STYLE.md before
 * changing anything here: structs only grow at their end, under a comment naming the minor that added
 * the field, and the major changes only when an existing field's meaning or layout would.
 *
 * Naming: aicache_on_* functions are implemented by the plugin, aicache_host_* by the host.
 * Every type says who owns it (OWNERSHIP:) and for how long.
 */
#ifndef AICACHE_ABI_H
#define AICACHE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AICACHE_ABI_MAJOR 1
#define AICACHE_ABI_MINOR 1

/* The one symbol a plugin library exports. */
#define AICACHE_PLUGIN_ENTRY_SYMBOL "aicache_plugin_init"

/* Status codes. Every plugin call returns one; error text goes through aicache_host_api.report_error. */
typedef int32_t aicache_status;
#define AICACHE_OK 0
#define AICACHE_ERR_INVALID_ARGUMENT 1 /* bad config, bad input */
#define AICACHE_ERR_NO_MEMORY 2
#define AICACHE_ERR_NOT_FOUND 3        /* e.g. on_victim with nothing to evict */
#define AICACHE_ERR_STATE_FORMAT 4     /* on_load_state: bytes are not in this plugin's format */
#define AICACHE_ERR_ABI 5              /* init: the host speaks an ABI major this plugin does not */
#define AICACHE_ERR_UNSUPPORTED 6      /* optional operation not provided */
#define AICACHE_ERR_INTERNAL 7         /* a plugin bug; the SDK maps escaped C++ exceptions to this */

typedef uint32_t aicache_kind;
#define AICACHE_KIND_POLICY 1u
#define AICACHE_KIND_LEARNER 2u
#define AICACHE_KIND_OPTIMIZER 3u

typedef int32_t aicache_log_level;
#define AICACHE_LOG_DEBUG 0
#define AICACHE_LOG_INFO 1
#define AICACHE_LOG_WARN 2
#define AICACHE_LOG_ERROR 3

/*
 * A sink for variable-size output (saved state, stats JSON, embeddings, candidates).
 * OWNERSHIP: host-owned; valid only during the call it is passed to. The host copies every byte
 * passed to write() before it returns, so the plugin may pass pointers to its temporaries.
 */
typedef struct aicache_writer {
    void *host_ctx;
    aicache_status (*write)(void *host_ctx, const void *data, size_t len);
} aicache_writer;

/*
 * Borrowed bytes. OWNERSHIP: owned by the caller; valid only during the call; never freed by the callee.
 */
typedef struct aicache_bytes {
    const void *data;
    size_t size;
} aicache_bytes;

/*
 * The host's function table, passed to aicache_plugin_init.
 * OWNERSHIP: host-owned; valid from init until the library is unloaded; the plugin may keep the pointer.
 * A function pointer may be NULL when the host does not offer it: test before calling.
 */
typedef struct aicache_host_api {
    uint32_t struct_size; /* sizeof(aicache_host_api) as the host was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    void *host_ctx; /* pass back unchanged to every aicache_host_* function */

    /* aicache_host_log: a log line from the plugin. message is borrowed for the call. */
    void (*log)(void *host_ctx, aicache_log_level level, const char *message);
    /* aicache_host_report_error: explain the status the current call is about to return.
       The host attaches the text to that failure on this thread. message is borrowed for the call. */
    void (*report_error)(void *host_ctx, aicache_status status, const char *message);
    /* aicache_host_now_us: microseconds on the host's clock (replays may run a virtual clock). */
    uint64_t (*now_us)(void *host_ctx);
} aicache_host_api;

/* Capability bits a plugin may advertise in its descriptor. */
#define AICACHE_CAP_STATE_MIGRATION (1ull << 0) /* save_state/load_state carry warm state across versions */
#define AICACHE_CAP_ADMISSION (1ull << 1)       /* on_admit may refuse entries */
#define AICACHE_CAP_TTL (1ull << 2)             /* on_ttl chooses expiry times */

/* ---------------------------------------------------------------------------------------------
 * Kind: policy. The host creates one instance per cache shard and never calls one instance from
 * two threads at once, so a policy needs no locks. Entries are named by their 64-bit key hash.
 * ------------------------------------------------------------------------------------------- */

/* Opaque policy instance. OWNERSHIP: plugin-owned; created by on_create, freed by on_destroy. */
typedef struct aicache_policy aicache_policy;

/*
 * What the host knows about one cache entry.
 * OWNERSHIP: host-owned; borrowed for the call only (copy what you keep).
 */
typedef struct aicache_entry_meta {
    uint32_t struct_size;   /* sizeof as the host was built; fields past it are absent */
    uint32_t tenant;        /* tenant / namespace id */
    uint64_t key;           /* 64-bit hash of the canonical key; unique among resident entries */
    uint64_t size_bytes;    /* bytes the entry occupies in the cache */
    uint64_t cost;          /* what a miss costs: tokens of an LLM answer, or upstream microseconds */
    uint64_t insert_time_us;
    uint64_t last_access_us;
    uint64_t hit_count;     /* hits since insertion, including the one being reported by on_hit */
} aicache_entry_meta;

/*
 * The policy kind's function table.
 * OWNERSHIP: plugin-owned static storage; valid until the library is unloaded.
 */
typedef struct aicache_policy_vtable {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /* Names the layout of save_state's bytes. Two versions whose tags are equal (and non-empty) can
       hand warm state to each other; otherwise the host cold-starts the new one by replaying on_insert
       for every resident entry. OWNERSHIP: plugin static storage. */
    const char *state_format;

    /* config_json: a JSON object, borrowed for the call. The host always sets "capacity_bytes" (the
       shard's capacity); other keys are the policy's parameters. *out receives the new instance. */
    aicache_status (*on_create)(const char *config_json, size_t config_len, aicache_policy **out);
    void (*on_destroy)(aicache_policy *self);

    /* A new entry became resident (after on_admit accepted it). */
    aicache_status (*on_insert)(aicache_policy *self, const aicache_entry_meta *meta);
    /* A resident entry was read. */
    aicache_status (*on_hit)(aicache_policy *self, const aicache_entry_meta *meta);
    /* The host removed a resident entry on its own (delete, expiry, replacement). Not called for
       keys the policy itself returned from on_victim. */
    aicache_status (*on_remove)(aicache_policy *self, uint64_t key);
    /* Choose one resident entry to evict, forget it, and store its key in *out_key.
       AICACHE_ERR_NOT_FOUND when the policy tracks no resident entry. */
    aicache_status (*on_victim)(aicache_policy *self, uint64_t *out_key);
    /* Admission: *out_admit = false keeps the entry out of the cache. */
    aicache_status (*on_admit)(aicache_policy *self, const aicache_entry_meta *meta, bool *out_admit);
    /* Time to live for a new entry in seconds; 0 = no policy-imposed expiry. */
    aicache_status (*on_ttl)(aicache_policy *self, const aicache_entry_meta *meta, uint64_t *out_ttl_seconds);

    /* Warm state for a hot swap or rollback, in the format named by state_format. */
    aicache_status (*on_save_state)(aicache_policy *self, const aicache_writer *out);
    /* Replaces the instance's state. On any error the instance must be left empty and usable. */
    aicache_status (*on_load_state)(aicache_policy *self, aicache_bytes state);
    /* A JSON object of the policy's own figures (queue lengths, parameters). */
    aicache_status (*on_stats)(aicache_policy *self, const aicache_writer *out);
} aicache_policy_vtable;

/* ---------------------------------------------------------------------------------------------
 * Kind: learner. Trains a model from observed examples and answers inference requests.
 * Calls to one instance are serialized by the host.
 * ------------------------------------------------------------------------------------------- */

/* Opaque learner instance. OWNERSHIP: plugin-owned; on_create to on_destroy. */
typedef struct aicache_learner aicache_learner;

typedef uint32_t aicache_example_type;
#define AICACHE_EXAMPLE_QUERY_PAIR 1u /* text_a/text_b with a label (1 = same answer is right) */
#define AICACHE_EXAMPLE_ACCESS 2u     /* an access record: key, size, cost, time */
/* ABI 1.1 and later: how serving the cached entry `key` to a query at similarity `score` turned
   out (label 1: its answer was right for the query, 0: wrong), from exploration or feedback. */
#define AICACHE_EXAMPLE_MATCH_OUTCOME 3u

/* One training example. OWNERSHIP: host-owned; borrowed for the call (strings too). */
typedef struct aicache_example {
    uint32_t struct_size;
    aicache_example_type type;
    const char *text_a; /* UTF-8, not NUL-terminated; length in text_a_len */
    size_t text_a_len;
    const char *text_b;
    size_t text_b_len;
    int32_t label;      /* query pairs: 1 positive, 0 negative, -1 unknown */
    uint32_t tenant;
    uint64_t key;
    uint64_t size_bytes;
    uint64_t cost;
    uint64_t time_us;
    /* ABI 1.1 and later (absent when struct_size ends before it): */
    double score; /* MATCH_OUTCOME: the query's similarity to the cached entry */
} aicache_example;

/* The learner kind's function table. OWNERSHIP: plugin static storage; valid until unload. */
typedef struct aicache_learner_vtable {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *state_format;

    aicache_status (*on_create)(const char *config_json, size_t config_len, aicache_learner **out);
    void (*on_destroy)(aicache_learner *self);
    aicache_status (*on_observe)(aicache_learner *self, const aicache_example *example);
    /* Train for at most budget_ms; writes a JSON object of measured metrics to *metrics. */
    aicache_status (*on_train)(aicache_learner *self, uint64_t budget_ms, const aicache_writer *metrics);
    /* request_json names what to infer (an embedding, a match probability, a reuse prediction);
       the answer is written to *out (format documented by the learner). */
    aicache_status (*on_infer)(aicache_learner *self, aicache_bytes request_json, const aicache_writer *out);
    aicache_status (*on_save_state)(aicache_learner *self, const aicache_writer *out);
    aicache_status (*on_load_state)(aicache_learner *self, aicache_bytes state);
} aicache_learner_vtable;

/* ---------------------------------------------------------------------------------------------
 * Kind: optimizer. Ask/tell search: the host asks for a candidate, measures it, tells the score.
 * ------------------------------------------------------------------------------------------- */

/* Opaque optimizer instance. OWNERSHIP: plugin-owned; on_create to on_destroy. */
typedef struct aicache_optimizer aicache_optimizer;

/* The optimizer kind's function table. OWNERSHIP: plugin static storage; valid until unload. */
typedef struct aicache_optimizer_vtable {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *state_format;

    /* search_space_json: borrowed for the call. */
    aicache_status (*on_create)(const char *search_space_json, size_t len, aicache_optimizer **out);
    void (*on_destroy)(aicache_optimizer *self);
    /* Writes the next candidate (JSON: {"id":..., "params":{...}} or {"id":..., "source":"..."}). */
    aicache_status (*on_ask)(aicache_optimizer *self, const aicache_writer *candidate);
    /* Reports the measured score of a candidate previously asked for (higher is better). */
    aicache_status (*on_tell)(aicache_optimizer *self, aicache_bytes candidate_json, double score);
    aicache_status (*on_best)(aicache_optimizer *self, const aicache_writer *out);
    aicache_status (*on_save_state)(aicache_optimizer *self, const aicache_writer *out);
    aicache_status (*on_load_state)(aicache_optimizer *self, aicache_bytes state);
} aicache_optimizer_vtable;

/* ---------------------------------------------------------------------------------------------
 * The plugin descriptor, filled by aicache_plugin_init.
 * ------------------------------------------------------------------------------------------- */

/*
 * OWNERSHIP: host-owned memory, written by the plugin during init. The host sets struct_size to the
 * bytes it provides; the plugin writes no more than that and sets struct_size to the bytes it wrote.
 * name, version and vtable point to plugin static storage, valid until the library is unloaded.
 */
typedef struct aicache_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major; /* the ABI the plugin was built against */
    uint16_t abi_minor;
    aicache_kind kind;
    uint32_t reserved0;     /* zero */
    const char *name;       /* [a-z0-9_-]+, the plugin's slot name, e.g. "lru" */
    const char *version;    /* the plugin's own version string, e.g. "1.2.0" */
    uint64_t capabilities;  /* AICACHE_CAP_* */
    const void *vtable;     /* aicache_policy_vtable / aicache_learner_vtable / aicache_optimizer_vtable */
} aicache_plugin_descriptor;

/*
 * OWNERSHIP: host (the table it passes) and plugin (the strings and tables it points the
 * descriptor at) as described on the two structs. The entry point: `aicache_status aicache_plugin_init(const aicache_host_api *host,
 * aicache_plugin_descriptor *out)`. Negotiation happens here and nowhere else (no work in static
 * constructors): a plugin returns AICACHE_ERR_ABI for a host major it does not speak.
 */
typedef aicache_status (*aicache_plugin_init_fn)(const aicache_host_api *host, aicache_plugin_descriptor *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AICACHE_ABI_H */
