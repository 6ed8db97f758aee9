// The built-in `gdsf` plugin: the SDK's reference class, aicache/sdk/reference/gdsf.hpp.
#include <aicache/sdk/reference/gdsf.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Gdsf, "gdsf", "1.0.0")
