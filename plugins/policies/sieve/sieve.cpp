// The built-in `sieve` plugin: the SDK's reference class, aicache/sdk/reference/sieve.hpp.
#include <aicache/sdk/reference/sieve.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Sieve, "sieve", "1.0.0")
