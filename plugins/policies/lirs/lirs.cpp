// The built-in `lirs` plugin: the SDK's reference class, aicache/sdk/reference/lirs.hpp.
#include <aicache/sdk/reference/lirs.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Lirs, "lirs", "1.0.0")
