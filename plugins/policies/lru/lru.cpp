// The built-in `lru` plugin: the SDK's reference class, aicache/sdk/reference/lru.hpp.
#include <aicache/sdk/reference/lru.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Lru, "lru", "1.0.0")
