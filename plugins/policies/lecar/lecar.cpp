// The built-in `lecar` plugin: the SDK's reference class, aicache/sdk/reference/lecar.hpp.
#include <aicache/sdk/reference/lecar.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::LeCaR, "lecar", "1.0.0")
