#include "store/cache_store.hpp"

namespace aicache::store {
namespace {

// SQLite integers are signed: store the 64-bit hash's bits as they are.
int64_t as_sql(uint64_t hash) { return static_cast<int64_t>(hash); }

class Transaction {
public:
    explicit Transaction(Database &db) : db_(db), status_(db.exec("BEGIN IMMEDIATE")) {}
    ~Transaction() {
        if (status_.is_ok() && !committed_) (void)db_.exec("ROLLBACK");
    }
    [[nodiscard]] const Status &begun() const { return status_; }
    Status commit() {
        committed_ = true;
        return db_.exec("COMMIT");
    }

private:
    Database &db_;
    Status status_;
    bool committed_ = false;
};

} // namespace

Expected<uint32_t> CacheStore::tenant_id(const std::string &name) {
    std::lock_guard lock(tenants_mutex_);
    if (auto it = tenants_.find(name); it != tenants_.end()) return it->second;
    auto inserted = db_.query("INSERT INTO tenants(name) VALUES (?) ON CONFLICT(name) DO NOTHING", {name});
    if (!inserted) return inserted.error();
    auto rows = db_.query("SELECT id FROM tenants WHERE name = ?", {name});
    if (!rows) return rows.error();
    if (rows->empty()) return Status(Errc::internal, "tenant " + name + " vanished after insert");
    uint32_t id = static_cast<uint32_t>(as_int(rows->front()[0]));
    tenants_[name] = id;
    return id;
}

Status CacheStore::put(const StoredAnswer &answer, const std::vector<uint64_t> &evicted) {
    auto tenant = tenant_id(answer.tenant);
    if (!tenant) return tenant.error();
    Transaction tx(db_);
    if (!tx.begun()) return tx.begun();
    for (uint64_t hash : evicted) {
        auto deleted = db_.query("DELETE FROM cache_entries WHERE key_hash = ?", {as_sql(hash)});
        if (!deleted) return deleted.error();
    }
    auto written = db_.query("INSERT OR REPLACE INTO cache_entries(key_hash, key, tenant_id, kind, value, size_bytes, cost, "
                             "created_at_us, expires_at_us) VALUES (?,?,?,?,?,?,?,?,?)",
                             {as_sql(answer.key_hash), answer.key, int64_t(*tenant), answer.kind, answer.value,
                              int64_t(answer.size_bytes), int64_t(answer.cost), int64_t(answer.created_at_us),
                              int64_t(answer.expires_at_us)});
    if (!written) return written.error();
    return tx.commit();
}

Status CacheStore::remove(const std::vector<uint64_t> &key_hashes) {
    if (key_hashes.empty()) return Status::ok();
    Transaction tx(db_);
    if (!tx.begun()) return tx.begun();
    for (uint64_t hash : key_hashes) {
        auto deleted = db_.query("DELETE FROM cache_entries WHERE key_hash = ?", {as_sql(hash)});
        if (!deleted) return deleted.error();
    }
    return tx.commit();
}

Expected<std::vector<StoredAnswer>> CacheStore::select(const std::string &where, const std::vector<SqlValue> &params,
                                                       bool with_values, const std::string &order) {
    auto rows = db_.query(std::string("SELECT e.key_hash, e.key, t.name, e.kind, ") + (with_values ? "e.value" : "''") +
                              ", e.size_bytes, e.cost, e.created_at_us, e.expires_at_us FROM cache_entries e "
                              "JOIN tenants t ON t.id = e.tenant_id " +
                              where + " " + order,
                          params);
    if (!rows) return rows.error();
    std::vector<StoredAnswer> out;
    out.reserve(rows->size());
    for (auto &row : *rows) {
        StoredAnswer a;
        a.key_hash = static_cast<uint64_t>(as_int(row[0]));
        a.key = as_text(row[1]);
        a.tenant = as_text(row[2]);
        a.kind = as_text(row[3]);
        a.value = as_text(row[4]);
        a.size_bytes = static_cast<uint64_t>(as_int(row[5]));
        a.cost = static_cast<uint64_t>(as_int(row[6]));
        a.created_at_us = static_cast<uint64_t>(as_int(row[7]));
        a.expires_at_us = static_cast<uint64_t>(as_int(row[8]));
        out.push_back(std::move(a));
    }
    return out;
}

Expected<std::vector<StoredAnswer>> CacheStore::get(uint64_t key_hash) {
    return select("WHERE e.key_hash = ?", {as_sql(key_hash)}, true, "");
}

Status CacheStore::load(uint64_t now_us, const std::function<void(StoredAnswer &&)> &each) {
    auto expired = db_.query("DELETE FROM cache_entries WHERE expires_at_us != 0 AND expires_at_us <= ?", {int64_t(now_us)});
    if (!expired) return expired.error();
    auto rows = select("", {}, true, "ORDER BY e.created_at_us");
    if (!rows) return rows.error();
    for (auto &answer : *rows) each(std::move(answer));
    return Status::ok();
}

namespace {
std::pair<std::string, std::vector<SqlValue>> where_clause(const StoreFilter &filter) {
    std::string where = "WHERE 1=1";
    std::vector<SqlValue> params;
    if (!filter.tenant.empty()) {
        where += " AND t.name = ?";
        params.emplace_back(filter.tenant);
    }
    if (filter.older_than_us != 0) {
        where += " AND e.created_at_us < ?";
        params.emplace_back(int64_t(filter.older_than_us));
    }
    return {where, params};
}
} // namespace

Expected<std::vector<StoredAnswer>> CacheStore::list(const StoreFilter &filter, bool with_values) {
    auto [where, params] = where_clause(filter);
    return select(where, params, with_values, "ORDER BY e.created_at_us DESC");
}

Expected<std::vector<uint64_t>> CacheStore::clear(const StoreFilter &filter) {
    auto selected = list(filter, false);
    if (!selected) return selected.error();
    std::vector<uint64_t> hashes;
    for (const auto &a : *selected) hashes.push_back(a.key_hash);
    if (Status removed = remove(hashes); !removed) return removed;
    return hashes;
}

} // namespace aicache::store
