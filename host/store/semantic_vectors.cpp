#include "store/semantic_vectors.hpp"

#include <cstring>

namespace aicache::store {

// SQLite integers are signed: keys and scopes are stored as their two's-complement bit patterns.
static int64_t as_signed(uint64_t v) {
    int64_t s;
    std::memcpy(&s, &v, sizeof s);
    return s;
}
static uint64_t as_unsigned(int64_t v) {
    uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

// A row of (scope, key, question, canonical_key, alias_of).
template <typename Row> static SemanticVectors::Entry entry_of(const Row &row) {
    return {as_unsigned(as_int(row[0])), as_unsigned(as_int(row[1])), as_text(row[2]), as_text(row[3]), as_unsigned(as_int(row[4]))};
}

Status SemanticVectors::bump_locked() {
    auto bumped = db_.query("UPDATE semantic_meta SET generation = generation + 1 WHERE id = 1");
    return bumped ? Status::ok() : bumped.error();
}

namespace {
constexpr const char *kUpsert = "INSERT INTO semantic_vectors(scope, key, model, vector, question, canonical_key, alias_of) "
                                "VALUES (?, ?, ?, CAST(? AS BLOB), ?, ?, ?) "
                                "ON CONFLICT(scope, key) DO UPDATE SET model = excluded.model, vector = excluded.vector, "
                                "question = excluded.question, canonical_key = excluded.canonical_key, alias_of = excluded.alias_of";
} // namespace

Status SemanticVectors::put(const Entry &e, std::span<const float> vector, const std::string &model) {
    std::string bytes(reinterpret_cast<const char *>(vector.data()), vector.size() * sizeof(float));
    if (Status begun = db_.exec("BEGIN IMMEDIATE"); !begun) return begun;
    auto stored = db_.query(kUpsert, {as_signed(e.scope), as_signed(e.key), model, bytes, e.question, e.canonical_key, as_signed(e.alias_of)});
    Status status = stored ? bump_locked() : stored.error();
    if (!status) {
        (void)db_.exec("ROLLBACK");
        return status.with_context("semantic vector");
    }
    return db_.exec("COMMIT");
}

Status SemanticVectors::put_many(const std::vector<Entry> &entries, const std::vector<std::vector<float>> &vectors, const std::string &model) {
    if (entries.size() != vectors.size()) return Status(Errc::internal, "put_many: entries and vectors differ in number");
    if (entries.empty()) return Status::ok();
    if (Status begun = db_.exec("BEGIN IMMEDIATE"); !begun) return begun;
    Status status = Status::ok();
    for (size_t i = 0; i < entries.size() && status; ++i) {
        const Entry &e = entries[i];
        std::string bytes(reinterpret_cast<const char *>(vectors[i].data()), vectors[i].size() * sizeof(float));
        auto stored = db_.query(kUpsert, {as_signed(e.scope), as_signed(e.key), model, bytes, e.question, e.canonical_key, as_signed(e.alias_of)});
        if (!stored) status = stored.error();
    }
    if (status) status = bump_locked();
    if (!status) {
        (void)db_.exec("ROLLBACK");
        return status.with_context("semantic vectors");
    }
    return db_.exec("COMMIT");
}

Status SemanticVectors::remove(uint64_t scope, uint64_t key) {
    if (Status begun = db_.exec("BEGIN IMMEDIATE"); !begun) return begun;
    auto removed = db_.query("DELETE FROM semantic_vectors WHERE scope = ? AND (key = ? OR alias_of = ?)",
                             {as_signed(scope), as_signed(key), as_signed(key)});
    Status status = removed ? bump_locked() : removed.error();
    if (!status) {
        (void)db_.exec("ROLLBACK");
        return status.with_context("semantic vector");
    }
    return db_.exec("COMMIT");
}

Expected<uint64_t> SemanticVectors::generation() {
    auto rows = db_.query("SELECT generation FROM semantic_meta WHERE id = 1");
    if (!rows) return rows.error();
    if (rows->empty()) return Status(Errc::corrupt, "semantic_meta has no row");
    return static_cast<uint64_t>(as_int(rows->front().front()));
}

Expected<uint64_t> SemanticVectors::count() {
    auto rows = db_.query("SELECT COUNT(*) FROM semantic_vectors");
    if (!rows) return rows.error();
    return static_cast<uint64_t>(as_int(rows->front().front()));
}

Status SemanticVectors::for_each(const std::string &model, const std::function<void(uint64_t, uint64_t, std::span<const float>)> &visit) {
    auto rows = db_.query("SELECT scope, key, vector FROM semantic_vectors WHERE model = ?", {model});
    if (!rows) return rows.error();
    std::vector<float> values;
    for (const auto &row : *rows) {
        std::string bytes = as_text(row[2]);
        if (bytes.size() % sizeof(float) != 0)
            return Status(Errc::corrupt, "semantic vector of key " + std::to_string(as_int(row[1])) + " has " + std::to_string(bytes.size()) + " bytes");
        values.resize(bytes.size() / sizeof(float));
        std::memcpy(values.data(), bytes.data(), bytes.size());
        visit(as_unsigned(as_int(row[0])), as_unsigned(as_int(row[1])), values);
    }
    return Status::ok();
}

Status SemanticVectors::stale_entries(const std::string &model, const std::function<void(Entry)> &visit) {
    auto rows = db_.query("SELECT scope, key, question, canonical_key, alias_of FROM semantic_vectors WHERE model != ?", {model});
    if (!rows) return rows.error();
    for (const auto &row : *rows) visit(entry_of(row));
    return Status::ok();
}

Status SemanticVectors::entries(const std::string &model, const std::function<void(Entry)> &visit) {
    auto rows = db_.query("SELECT scope, key, question, canonical_key, alias_of FROM semantic_vectors WHERE model = ?", {model});
    if (!rows) return rows.error();
    for (const auto &row : *rows) visit(entry_of(row));
    return Status::ok();
}

} // namespace aicache::store
