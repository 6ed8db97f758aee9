// The knowledge repository's record of promoted policy parameters (policy_parameters): every set a
// canary promoted, with who and why; the latest per policy is what serve and exec start with. And
// of promoted policy swaps (policy_choices): the latest per slot is the plugin serve starts in it.
#pragma once

#include "core/status.hpp"
#include "store/database.hpp"

#include <optional>
#include <string>

namespace aicache::store {

class PolicyParameters {
public:
    explicit PolicyParameters(Database &db) : db_(db) {}
    // `parameters`: a JSON object's text.
    Status promote(const std::string &policy, const std::string &parameters, const std::string &by, const std::string &why);
    Expected<std::optional<std::string>> latest(const std::string &policy);
    // A policy plugin promoted to run in a slot (serve --policy names the slot), and the latest.
    Status promote_choice(const std::string &slot, const std::string &policy, const std::string &by, const std::string &why);
    Expected<std::optional<std::string>> latest_choice(const std::string &slot);

private:
    Database &db_;
};

} // namespace aicache::store
