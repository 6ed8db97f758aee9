#include "loader/learner_instance.hpp"

#include <aicache/sdk/vectors.hpp>

#include "loader/policy_instance.hpp"

#include <nlohmann/json.hpp>

#include <cstring>

namespace aicache::loader {
namespace {

Expected<std::vector<float>> as_floats(const std::string &what, const std::string &bytes, size_t expected_count) {
    if (bytes.size() != expected_count * sizeof(float))
        return Status(Errc::plugin, what + " wrote " + std::to_string(bytes.size()) + " bytes, expected " +
                                        std::to_string(expected_count) + " float32 values");
    std::vector<float> out(expected_count);
    if (expected_count) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

} // namespace

Expected<LearnerInstance> LearnerInstance::create(std::shared_ptr<const PluginLibrary> library, const std::string &config_json) {
    const aicache_learner_vtable *table = library->learner();
    if (table == nullptr) return Status(Errc::invalid_argument, library->facts().name + " is not a learner plugin");
    aicache_learner *self = nullptr;
    aicache_status status = table->on_create(config_json.data(), config_json.size(), &self);
    if (status != AICACHE_OK) return plugin_failure(library->facts().name + ": on_create", status);
    if (self == nullptr) return Status(Errc::plugin, library->facts().name + ": on_create returned ok but no instance");
    LearnerInstance instance;
    instance.library_ = std::move(library);
    instance.table_ = table;
    instance.self_ = self;
    return instance;
}

Status LearnerInstance::observe(const aicache_example &example) {
    aicache_status status = table_->on_observe(self_, &example);
    return status == AICACHE_OK ? Status::ok() : plugin_failure(library_->facts().name + ": on_observe", status);
}

Status LearnerInstance::observe_pair(std::string_view a, std::string_view b, int label) {
    aicache_example example{};
    example.struct_size = sizeof example;
    example.type = AICACHE_EXAMPLE_QUERY_PAIR;
    example.text_a = a.data();
    example.text_a_len = a.size();
    example.text_b = b.data();
    example.text_b_len = b.size();
    example.label = label;
    return observe(example);
}

Expected<std::string> LearnerInstance::train(uint64_t budget_ms) {
    StringWriter out;
    out.limit = 1 << 20;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_train(self_, budget_ms, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_train", status);
    return std::move(out.bytes);
}

Expected<std::string> LearnerInstance::infer(std::string_view request_json) {
    StringWriter out;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_infer(self_, aicache_bytes{request_json.data(), request_json.size()}, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_infer", status);
    return std::move(out.bytes);
}

Expected<std::vector<float>> LearnerInstance::embed(const std::vector<std::string> &texts, size_t &dim) {
    nlohmann::json request = {{"op", "embed"}, {"texts", texts}};
    auto answer = infer(request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!answer) return answer.error();
    if (texts.empty()) return std::vector<float>{};
    if (answer->size() % (texts.size() * sizeof(float)) != 0)
        return Status(Errc::plugin, library_->facts().name + ": embed wrote " + std::to_string(answer->size()) + " bytes for " +
                                        std::to_string(texts.size()) + " texts");
    dim = answer->size() / (texts.size() * sizeof(float));
    return as_floats(library_->facts().name + ": embed", *answer, texts.size() * dim);
}

Expected<std::vector<float>> LearnerInstance::match(const std::vector<std::pair<std::string, std::string>> &pairs) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto &[a, b] : pairs) list.push_back({a, b});
    nlohmann::json request = {{"op", "match"}, {"pairs", list}};
    auto answer = infer(request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (!answer) return answer.error();
    return as_floats(library_->facts().name + ": match", *answer, pairs.size());
}

Expected<std::vector<float>> LearnerInstance::relate(std::span<const float> query, const std::vector<std::span<const float>> &candidates) {
    std::vector<const float *> rows;
    rows.reserve(candidates.size());
    for (const auto &c : candidates) {
        if (c.size() != query.size())
            return Status(Errc::invalid_argument, "relate: a candidate of " + std::to_string(c.size()) + " values for a query of " + std::to_string(query.size()));
        rows.push_back(c.data());
    }
    auto answer = infer(sdk::write_relate_request(query.data(), query.size(), rows));
    if (!answer) return answer.error();
    return as_floats(library_->facts().name + ": relate", *answer, candidates.size());
}

Expected<std::string> LearnerInstance::save_state() {
    StringWriter out;
    aicache_writer writer = out.writer();
    aicache_status status = table_->on_save_state(self_, &writer);
    if (status != AICACHE_OK) return plugin_failure(library_->facts().name + ": on_save_state", status);
    return std::move(out.bytes);
}

Status LearnerInstance::load_state(std::string_view bytes) {
    aicache_status status = table_->on_load_state(self_, aicache_bytes{bytes.data(), bytes.size()});
    return status == AICACHE_OK ? Status::ok() : plugin_failure(library_->facts().name + ": on_load_state", status);
}

} // namespace aicache::loader
