// encoder: a learned query encoder and relation head for semantic matching (see README.md and
// learner.hpp), exposed as a learner plugin.
#include "learner.hpp"

#include <aicache/sdk/learner.hpp>

AICACHE_LEARNER_PLUGIN(encoder::Learner, "encoder", "1.2.0")
