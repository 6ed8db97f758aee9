// A SQLite connection in WAL mode with the schema migrations applied, and a small statement helper.
#pragma once

#include "core/status.hpp"

#include <cstdint>
#include <mutex>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace aicache::store {

using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

class Database {
public:
    // Opens (creating if needed) the database file and brings its schema up to date.
    static Expected<std::unique_ptr<Database>> open(const std::filesystem::path &file);
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    Status exec(std::string_view sql);
    // One statement with positional parameters; returns all result rows.
    Expected<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue> &params = {});
    [[nodiscard]] int64_t last_insert_id() const;
    // Caps the database file: writes that would grow it past `bytes` fail as if the disk were full.
    Status limit_size(uint64_t bytes);
    [[nodiscard]] const std::filesystem::path &file() const { return file_; }

private:
    Database(sqlite3 *db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}
    Status migrate();
    Status error(const std::string &what) const;
    Status exec_locked(std::string_view sql);

    std::recursive_mutex mutex_;
    bool in_transaction_ = false; // an exec("BEGIN") holds mutex_ until its COMMIT/ROLLBACK (guarded by mutex_)
    sqlite3 *db_;
    std::filesystem::path file_;
};

inline std::string as_text(const SqlValue &v) {
    if (auto s = std::get_if<std::string>(&v)) return *s;
    if (auto i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (auto d = std::get_if<double>(&v)) return std::to_string(*d);
    return {};
}
inline int64_t as_int(const SqlValue &v) {
    if (auto i = std::get_if<int64_t>(&v)) return *i;
    return 0;
}
inline double as_double(const SqlValue &v) {
    if (auto d = std::get_if<double>(&v)) return *d;
    if (auto i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return 0;
}

} // namespace aicache::store
