// A trial given more CPU time (optimize run/judge and patch submit --trial-cpu-seconds) must also
// get the wall time to spend it: a patch replayed at four sizes of a 5 M-request trace needs more
// than the default's 60 CPU seconds, and a wall limit left at 120 s would stop it on a busy machine.
#include "patches/trial.hpp"

#include <doctest/doctest.h>

using namespace aicache;

TEST_CASE("a trial allowed more CPU seconds gets twice that in wall time, and never less than the default's") {
    const patches::TrialOptions defaults = patches::TrialOptions::defaults();
    CHECK(defaults.limits.cpu_seconds == 60);
    CHECK(defaults.limits.wall_time == std::chrono::seconds(120));

    patches::TrialOptions more = defaults;
    more.allow_cpu_seconds(300);
    CHECK(more.limits.cpu_seconds == 300);
    CHECK(more.limits.wall_time == std::chrono::seconds(600));

    patches::TrialOptions less = defaults;
    less.allow_cpu_seconds(10);
    CHECK(less.limits.cpu_seconds == 10);
    CHECK(less.limits.wall_time == std::chrono::seconds(120));
}
