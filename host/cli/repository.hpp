// The data directory's knowledge repository as the patch and search commands use it.
#pragma once

#include "core/status.hpp"
#include "patches/pipeline.hpp"
#include "store/database.hpp"

#include <memory>
#include <string>

namespace aicache::cli {

struct Repository {
    std::unique_ptr<store::Database> db;
    std::unique_ptr<patches::PatchPipeline> pipeline;
};

// Opens (creating if needed) <data>/aicache.db for the --data flag's directory.
Expected<Repository> open_repository(const std::string &data_flag);

} // namespace aicache::cli
