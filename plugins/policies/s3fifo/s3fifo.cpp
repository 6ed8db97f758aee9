// The built-in `s3fifo` plugin: the SDK's reference class, aicache/sdk/reference/s3fifo.hpp.
#include <aicache/sdk/reference/s3fifo.hpp>

AICACHE_POLICY_PLUGIN(aicache::sdk::reference::S3Fifo, "s3fifo", "1.0.0")
