// The built-in `wtinylfu` plugin: the SDK's reference class, aicache/sdk/reference/wtinylfu.hpp.
#include <aicache/sdk/reference/wtinylfu.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::WTinyLfu, "wtinylfu", "1.0.0")
