// Belady's bound: the hits of a cache that knows the future. On a miss it admits the object only
// if it will be requested again, and makes room by evicting whatever is next requested furthest
// in the future (never something needed sooner than the newcomer). For unit sizes this is the
// optimum (Belady's MIN with bypass); with variable sizes exact OPT is NP-hard and this is the
// usual farthest-next-use heuristic, so treat it as "what a clairvoyant cache gets", not a proof.
#pragma once

#include "replay/replay.hpp"
#include "replay/trace.hpp"

namespace aicache::replay {

// count_objects: every object occupies one unit and capacity is a count.
ReplayResult run_belady(const Trace &trace, uint64_t capacity, bool count_objects = false);

} // namespace aicache::replay
