# The two commands of the README: `make run` and `make test`. Both install what is missing first.
BUILD ?= build
GENERATOR := Ninja
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps configure build run test bench bench-proxy bench-policies bench-semantic bench-tune bench-evolve bench-bar-noise clean

all: build

deps:
	@scripts/bootstrap

$(BUILD)/build.ninja: | deps
	@cmake -S . -B $(BUILD) -G $(GENERATOR) $(CMAKE_FLAGS) >/dev/null

configure: deps $(BUILD)/build.ninja

build: configure
	@cmake --build $(BUILD)

# The main job: qualify and load the built-in policies, replay the generated workload, hot-swap.
run: build
	@$(BUILD)/bin/aicache demo --data $(BUILD)/run-data

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j2

bench: build
	@$(BUILD)/bench/aicache_bench

clean:
	@rm -rf $(BUILD)

# wrk against the proxy's hit and miss paths (loopback, fake upstream).
bench-proxy: build
	@bench/proxy_bench.sh $(BUILD)

# Every policy and Belady on the shared traces (../shared/data/traces) at four sizes.
bench-policies: build
	@bench/policies_report.sh $(BUILD)

# The semantic-matching evaluations on ../shared/data/semantic (eval semantic, threshold, drift,
# transfer) and the lookup latency benchmarks.
bench-semantic: build
	@bench/semantic_report.sh $(BUILD)

# The tune optimizer against random search with twice the budget, on the shared traces.
bench-tune: build
	@bench/tune_report.sh $(BUILD)

# Issue 7's evolve target reproduced: a search per shared trace, its best judged at four sizes
# (about 75 min; build/bench-evolve.md).
bench-evolve: build
	@bench/evolve_report.sh $(BUILD)

# Is the evolve target's bar a fair one on lirs_2_pools? The classical policies held to it on 50
# draws of that trace's model, and what each gets in expectation beside its evolved patch (about 2 min;
# build/bench-bar-noise.md; PATCHES="x.so ..." replays those patches instead).
bench-bar-noise: build
	@bench/bar_noise_report.sh $(BUILD)
