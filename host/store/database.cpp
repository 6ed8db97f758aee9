#include "store/database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <system_error>

namespace aicache::store {
namespace {

// Each entry brings the schema from version i to i+1. Never edit a released entry: append.
const char *const kMigrations[] = {
    R"sql(
    CREATE TABLE plugin_versions(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        version TEXT NOT NULL,
        abi_major INTEGER NOT NULL,
        abi_minor INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        state_format TEXT NOT NULL,
        source_path TEXT NOT NULL,
        loaded_at TEXT NOT NULL,
        loaded_by TEXT NOT NULL,
        UNIQUE(name, content_hash));
    CREATE TABLE plugin_events(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version_id INTEGER NOT NULL REFERENCES plugin_versions(id),
        action TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '');
    CREATE TABLE plugin_active(
        name TEXT PRIMARY KEY,
        version_id INTEGER NOT NULL REFERENCES plugin_versions(id));
    )sql",
    R"sql(
    CREATE TABLE tenants(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE);
    CREATE TABLE cache_entries(
        key_hash INTEGER PRIMARY KEY,
        key BLOB NOT NULL,
        tenant_id INTEGER NOT NULL REFERENCES tenants(id),
        kind TEXT NOT NULL,
        value BLOB NOT NULL,
        size_bytes INTEGER NOT NULL,
        cost INTEGER NOT NULL,
        created_at_us INTEGER NOT NULL,
        expires_at_us INTEGER NOT NULL);
    CREATE INDEX cache_entries_by_tenant ON cache_entries(tenant_id);
    CREATE INDEX cache_entries_by_age ON cache_entries(created_at_us);
    )sql",
    R"sql(
    CREATE TABLE patches(
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        file_name TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        source TEXT NOT NULL,
        source_sha256 TEXT NOT NULL,
        object_sha256 TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        report TEXT NOT NULL DEFAULT '{}',
        submitted_by TEXT NOT NULL,
        submitted_at TEXT NOT NULL);
    CREATE TABLE patch_decisions(
        id INTEGER PRIMARY KEY,
        patch_id INTEGER NOT NULL REFERENCES patches(id),
        operator TEXT NOT NULL,
        public_key TEXT NOT NULL,
        decision TEXT NOT NULL,
        why TEXT NOT NULL DEFAULT '',
        signature TEXT NOT NULL,
        at TEXT NOT NULL);
    CREATE TABLE audit_log(
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        public_key TEXT NOT NULL DEFAULT '',
        signature TEXT NOT NULL DEFAULT '');
    -- Append-only for every honest writer; the hash chain catches the dishonest ones.
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    )sql",
    R"sql(
    -- An optimizer's search: what it searches, how candidates are measured, and its saved state
    -- after the last told trial, so the search resumes where it stopped.
    CREATE TABLE searches(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        optimizer TEXT NOT NULL,
        optimizer_version TEXT NOT NULL,
        optimizer_sha256 TEXT NOT NULL,
        space TEXT NOT NULL,
        evaluation TEXT NOT NULL,
        state_format TEXT NOT NULL DEFAULT '',
        state_hex TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL);
    CREATE TABLE search_trials(
        id INTEGER PRIMARY KEY,
        search_id INTEGER NOT NULL REFERENCES searches(id),
        number INTEGER NOT NULL,
        candidate TEXT NOT NULL,
        patch_id INTEGER REFERENCES patches(id),
        outcome TEXT NOT NULL,
        score REAL NOT NULL,
        split TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        seconds REAL NOT NULL DEFAULT 0,
        finished_at TEXT NOT NULL,
        UNIQUE(search_id, number));
    )sql",
    R"sql(
    -- Embeddings of cached questions, for the semantic index: the index is a cache of this table,
    -- rebuilt from it whenever its snapshot is not of the current generation.
    CREATE TABLE semantic_vectors(
        scope INTEGER NOT NULL,
        key INTEGER NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY(scope, key));
    CREATE TABLE semantic_meta(
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL);
    INSERT INTO semantic_meta(id, generation) VALUES (1, 0);
    )sql",
    R"sql(
    -- What the matcher needs besides the vector: the cached question (the relation head compares
    -- texts) and the canonical key (to read the cached answer).
    ALTER TABLE semantic_vectors ADD COLUMN question TEXT NOT NULL DEFAULT '';
    ALTER TABLE semantic_vectors ADD COLUMN canonical_key TEXT NOT NULL DEFAULT '';
    )sql",
    R"sql(
    -- The history of each learner's trained models: what a checkpoint was trained from and on,
    -- what it measured on held-out pairs, and where its bytes are (<data>/checkpoints/<sha256>.ckpt).
    -- One checkpoint per learner is active (loaded by serve and exec); rollback activates an older one.
    CREATE TABLE learner_checkpoints(
        id INTEGER PRIMARY KEY,
        learner TEXT NOT NULL,
        plugin_version TEXT NOT NULL,
        plugin_sha256 TEXT NOT NULL,
        state_format TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        parent_id INTEGER REFERENCES learner_checkpoints(id),
        trained_on TEXT NOT NULL DEFAULT '{}',
        metrics TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL);
    CREATE TABLE learner_active(
        learner TEXT PRIMARY KEY,
        checkpoint_id INTEGER NOT NULL REFERENCES learner_checkpoints(id));
    )sql",
    R"sql(
    -- A checkpoint whose bytes `aicache learner gc` deleted keeps its record (history is kept).
    ALTER TABLE learner_checkpoints ADD COLUMN pruned_at TEXT NOT NULL DEFAULT '';
    )sql",
    R"sql(
    -- A verified paraphrase of a cached question is indexed beside it as an alias: its own vector,
    -- pointing at the entry it is a paraphrase of (0: the row is an entry itself). Removing an
    -- entry removes its aliases.
    ALTER TABLE semantic_vectors ADD COLUMN alias_of INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX semantic_vectors_alias_of ON semantic_vectors(scope, alias_of) WHERE alias_of != 0;
    )sql",
    R"sql(
    -- The performance monitor's closed windows (learning/performance_monitor.hpp): what the cache
    -- did, window by window, for the learning coordinator and `aicache learn status`.
    CREATE TABLE monitor_windows(
        id INTEGER PRIMARY KEY,
        start_us INTEGER NOT NULL,
        end_us INTEGER NOT NULL,
        requests INTEGER NOT NULL, hits INTEGER NOT NULL, semantic_hits INTEGER NOT NULL, misses INTEGER NOT NULL,
        bypasses INTEGER NOT NULL, errors INTEGER NOT NULL,
        tokens_answered INTEGER NOT NULL, tokens_saved INTEGER NOT NULL,
        wrong_reports INTEGER NOT NULL, right_reports INTEGER NOT NULL,
        latency_p50_us INTEGER NOT NULL, latency_p99_us INTEGER NOT NULL);
    CREATE INDEX monitor_windows_end ON monitor_windows(end_us);
    )sql",
    R"sql(
    -- The learning coordinator's cycles (learning/coordinator.hpp): why each ran, what it tried,
    -- what it measured on later traffic than it trained on, and what it decided.
    CREATE TABLE learning_cycles(
        id INTEGER PRIMARY KEY,
        trigger TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL DEFAULT '',
        opportunity TEXT NOT NULL DEFAULT '',
        decision TEXT NOT NULL DEFAULT 'running',
        why TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}');
    )sql",
    R"sql(
    -- Policy parameters promoted from a canary (patches/parameter_canary): the last row per policy
    -- is what serve runs with unless --policy-parameters says otherwise.
    CREATE TABLE policy_parameters(
        id INTEGER PRIMARY KEY,
        policy TEXT NOT NULL,
        parameters TEXT NOT NULL,
        promoted_at TEXT NOT NULL,
        promoted_by TEXT NOT NULL,
        why TEXT NOT NULL);
    )sql",
    R"sql(
    -- Policy swaps promoted from a canary (the learning coordinator's policy choice): the last row
    -- per slot (serve --policy) is the policy plugin serve runs in it at its next start.
    CREATE TABLE policy_choices(
        id INTEGER PRIMARY KEY,
        slot TEXT NOT NULL,
        policy TEXT NOT NULL,
        promoted_at TEXT NOT NULL,
        promoted_by TEXT NOT NULL,
        why TEXT NOT NULL);
    )sql",
};

} // namespace

Expected<std::unique_ptr<Database>> Database::open(const std::filesystem::path &file) {
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return Status(Errc::io, file.parent_path().string() + ": cannot create data directory: " + ec.message());
    sqlite3 *db = nullptr;
    int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close(db);
        return Status(Errc::io, file.string() + ": cannot open database: " + why);
    }
    std::unique_ptr<Database> database(new Database(db, file));
    sqlite3_busy_timeout(db, 5000);
    for (const char *pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"})
        if (Status s = database->exec(pragma); !s) return s;
    if (Status s = database->migrate(); !s) return s;
    return database;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::error(const std::string &what) const {
    return Status(Errc::io, file_.string() + ": " + what + ": " + sqlite3_errmsg(db_));
}

// One connection serves every thread of the host (the proxy's stores, the plugin host, the patch
// pipeline, the audit log). Each call runs under the connection's mutex, and a transaction a
// thread opens with exec("BEGIN ...") keeps it until that thread's COMMIT or ROLLBACK, so no other
// thread's statement lands inside it (or tries to BEGIN within it).
Status Database::exec(std::string_view sql) {
    std::lock_guard lock(mutex_);
    Status status = exec_locked(sql);
    const bool begins = sql.substr(0, 5) == "BEGIN" && sql.find("COMMIT") == std::string_view::npos;
    const bool ends = sql.substr(0, 6) == "COMMIT" || sql.substr(0, 8) == "ROLLBACK";
    if (begins && status && !in_transaction_) {
        mutex_.lock(); // released by the COMMIT or ROLLBACK below, on this thread
        in_transaction_ = true;
    } else if (ends && in_transaction_) {
        in_transaction_ = false;
        mutex_.unlock();
    }
    return status;
}

Status Database::exec_locked(std::string_view sql) {
    char *message = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        return Status(Errc::io, file_.string() + ": " + why);
    }
    return Status::ok();
}

Expected<std::vector<SqlRow>> Database::query(std::string_view sql, const std::vector<SqlValue> &params) {
    std::lock_guard lock(mutex_);
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
        return error("prepare");
    struct Finalize {
        sqlite3_stmt *s;
        ~Finalize() { sqlite3_finalize(s); }
    } finalize{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
        int index = static_cast<int>(i + 1);
        const SqlValue &p = params[i];
        int rc = SQLITE_OK;
        if (std::holds_alternative<std::monostate>(p)) rc = sqlite3_bind_null(stmt, index);
        else if (auto v = std::get_if<int64_t>(&p)) rc = sqlite3_bind_int64(stmt, index, *v);
        else if (auto d = std::get_if<double>(&p)) rc = sqlite3_bind_double(stmt, index, *d);
        else {
            const auto &s = std::get<std::string>(p);
            rc = sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        }
        if (rc != SQLITE_OK) return error("bind");
    }
    std::vector<SqlRow> rows;
    for (;;) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return error("step");
        SqlRow row;
        int columns = sqlite3_column_count(stmt);
        for (int c = 0; c < columns; ++c) {
            switch (sqlite3_column_type(stmt, c)) {
            case SQLITE_INTEGER: row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
            case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(stmt, c)); break;
            case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
            default:
                row.emplace_back(std::string(reinterpret_cast<const char *>(sqlite3_column_text(stmt, c)),
                                             static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

Status Database::limit_size(uint64_t bytes) {
    auto page_size = query("PRAGMA page_size");
    if (!page_size) return page_size.error();
    int64_t pages = static_cast<int64_t>(bytes) / std::max<int64_t>(1, as_int(page_size->at(0).at(0)));
    auto set = query("PRAGMA max_page_count = " + std::to_string(std::max<int64_t>(pages, 1)));
    return set ? Status::ok() : set.error();
}

Status Database::migrate() {
    auto version = query("PRAGMA user_version");
    if (!version) return version.error();
    int64_t current = as_int(version->at(0).at(0));
    const int64_t target = static_cast<int64_t>(std::size(kMigrations));
    if (current > target)
        return Status(Errc::corrupt, file_.string() + ": schema version " + std::to_string(current) +
                                         " is newer than this aicache understands (" + std::to_string(target) + "): upgrade aicache");
    for (int64_t v = current; v < target; ++v) {
        std::string step = std::string("BEGIN IMMEDIATE;") + kMigrations[v] + "PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
        if (Status s = exec(step); !s) {
            (void)exec("ROLLBACK");
            return s.with_context("schema migration " + std::to_string(v + 1));
        }
    }
    return Status::ok();
}

} // namespace aicache::store
