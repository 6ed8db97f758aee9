// The built-in `arc` plugin: the SDK's reference class, aicache/sdk/reference/arc.hpp.
#include <aicache/sdk/reference/arc.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Arc, "arc", "1.0.0")
