// The built-in `lfu` plugin: the SDK's reference class, aicache/sdk/reference/lfu.hpp.
#include <aicache/sdk/reference/lfu.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Lfu, "lfu", "1.0.0")
