// The built-in `fifo` plugin: the SDK's reference class, aicache/sdk/reference/fifo.hpp.
#include <aicache/sdk/reference/fifo.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::Fifo, "fifo", "1.0.0")
