#include "cli/repository.hpp"

#include "cli/common.hpp"

namespace aicache::cli {

Expected<Repository> open_repository(const std::string &data_flag) {
    std::filesystem::path data = data_dir(data_flag);
    std::error_code ec;
    std::filesystem::create_directories(data, ec);
    auto db = store::Database::open(data / "aicache.db");
    if (!db) return db.error();
    Repository repo;
    repo.db = std::move(*db);
    repo.pipeline = std::make_unique<patches::PatchPipeline>(*repo.db, data);
    return repo;
}

} // namespace aicache::cli
