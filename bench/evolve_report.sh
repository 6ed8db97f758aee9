#!/usr/bin/env bash
# Issue 7's evolve target, reproduced: on each of the 16 shared key traces and the CloudPhysics
# trace with block sizes, the search whose best patch is the README's figure for that trace (same
# space, sizes and trials; evolve is seeded, so a search asks the same candidates again), then
# `optimize judge` of its best patch at 1%, 5%, 10% and 25% beside the best classical policy, with
# 95% intervals from 50 chunks.
# Searches already in DATA_DIR are resumed (nothing to do when complete) and judged again.
# Usage: bench/evolve_report.sh [BUILD_DIR] [REPORT] [DATA_DIR]  (make bench-evolve; about 75 min on 2 cores)
# ONLY="trace ..." limits it to those traces.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
report=${2:-$build/bench-evolve.md}
data=${3:-$build/bench-evolve-data}
traces_dir=../shared/data/traces
if [ ! -d "$traces_dir" ]; then
  echo "bench-evolve: skipped: $traces_dir is absent (it holds the shared traces; see ../shared/data/README.md)"
  exit 0
fi
aicache="$build/bin/aicache"
mkdir -p "$data"

# Spaces. Per trace at 1% and 10% (bench/evolve-record.md: "Evolved per trace, worst first"), and its wider form.
wf='{"template": "history", "population": 12, "features": ["recency", "frequency", "age", "gap"],
     "fixed": {"sample": "64", "promote": "1", "window": "0.01", "classical": "255"},
     "choices": {"switch_cost": ["0", "0.3", "1"], "first": ["0", "1", "2", "3", "4", "5", "6", "7", "8"],
                 "history": ["2", "4", "8"], "distinct": ["0", "1"]}}'
wide='{"template": "history", "population": 12, "features": ["recency", "frequency", "age", "gap"],
       "fixed": {"sample": "64"},
       "choices": {"switch_cost": ["0", "0.3", "1"], "first": ["0", "1", "2", "3", "4", "5", "6", "7", "8"],
                   "history": ["2", "4", "8"], "distinct": ["0", "1"], "classical": ["255", "2", "36", "12", "30"],
                   "window": ["0.01", "0.1"], "promote": ["1", "0"]}}'
# At four sizes ("Evolved at four sizes").
four() { # FIXED_FIRST CHOSEN_FIRST CLASSICAL...: `first` fixed (', "first": "2"') or chosen ('"first": ["4", "5"], ')
  local first=$1 chosen_first=$2 classical=""
  shift 2
  for c in "$@"; do classical="$classical${classical:+, }\"$c\""; done
  echo "{\"template\": \"history\", \"population\": 12, \"features\": [\"recency\", \"frequency\", \"age\", \"gap\"], \"fixed\": {\"sample\": \"64\"$first},
    \"choices\": {$chosen_first\"classical\": [$classical], \"switch_cost\": [\"0\", \"0.05\", \"0.3\", \"1\"], \"window\": [\"0.01\", \"0.1\"],
                  \"promote\": [\"0\", \"1\"], \"history\": [\"2\", \"4\", \"8\"], \"distinct\": [\"0\", \"1\"]}}"
}
mean='"template": "history", "population": 12, "features": ["recency", "frequency", "age", "gap", "mean_gap"]'
# Uses squared, LeCaR inside the evolved expert, and experts that evict together.
sq_cloud="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\"},
  \"choices\": {\"classical\": [\"arc\", \"arc+wtinylfu+lirs\", \"wtinylfu\", \"lirs\", \"0\"], \"first\": [\"arc\", \"0\"], \"gap_memory\": [\"0.95\", \"0.99\"],
                \"promote\": [\"1\", \"0\"], \"switch_cost\": [\"0\", \"0.3\"], \"window\": [\"0.01\", \"0.02\", \"0.1\"]}}"
sq_web="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\"},
  \"choices\": {\"classical\": [\"0\", \"arc+s3fifo\", \"arc\", \"s3fifo\"], \"first\": [\"0\", \"arc\", \"s3fifo\"], \"gap_memory\": [\"0.95\", \"0.99\"],
                \"promote\": [\"0\", \"1\"], \"switch_cost\": [\"0\", \"0.3\"], \"window\": [\"0.1\", \"0.2\", \"0.01\"]}}"
ad_sprite="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\"},
  \"choices\": {\"adaptive\": [\"1\", \"0\"], \"classical\": [\"lru+s3fifo\", \"lru+lecar+s3fifo\", \"lru\", \"lecar\", \"s3fifo\"], \"first\": [\"lru\", \"0\"],
                \"gap_memory\": [\"0.99\", \"0.95\"], \"switch_cost\": [\"1\", \"0.3\"], \"window\": [\"0.01\", \"0.1\"]}}"
vote_gcc="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"4\", \"sample\": \"64\", \"window\": \"0.1\"},
  \"choices\": {\"vote\": [\"3000\", \"1000\", \"0\"], \"classical\": [\"arc+wtinylfu+gdsf+s3fifo\", \"arc+gdsf+s3fifo\"], \"first\": [\"gdsf\", \"s3fifo\"],
                \"switch_cost\": [\"0.05\", \"0.3\"]}}"
vote_swim="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"4\", \"sample\": \"64\", \"window\": \"0.1\",
                              \"classical\": \"arc+wtinylfu+gdsf+s3fifo+lecar+sieve\", \"first\": \"s3fifo\"},
  \"choices\": {\"vote\": [\"1000\", \"700\", \"1500\", \"3000\"], \"switch_cost\": [\"0.3\", \"0.05\", \"1\"]}}"
vote_cpp="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\", \"gap_memory\": \"0.95\", \"promote\": \"1\", \"window\": \"0.01\",
                             \"classical\": \"arc+lecar+lirs+s3fifo+sieve\", \"first\": \"arc\", \"switch_cost\": \"0.3\"},
  \"choices\": {\"adaptive\": [\"1\", \"0\"], \"vote\": [\"300\", \"1000\"]}}"
# The two traces of millions of requests (a trial replays 5 M requests at four sizes: up to a minute).
big_orm="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\"},
  \"choices\": {\"classical\": [\"lecar+gdsf+wtinylfu\", \"winners\"], \"first\": [\"gdsf\", \"lecar\", \"0\"], \"switch_cost\": [\"0.3\", \"0.05\", \"1\"],
                \"vote\": [\"1000\", \"3000\", \"0\"], \"window\": [\"0.01\", \"0.1\"], \"gap_memory\": [\"0.99\", \"0.95\"]}}"
# cloudphysics with each block's size: S3-FIFO promoting at the first read with a longer ghost
# queue beside LIRS, and a memory short enough to follow a change within this short trace.
bin_cloud="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\", \"window\": \"0.01\", \"classical\": \"lirs+s3fifo\", \"first\": \"lirs\",
                             \"s3fifo_move\": \"1\", \"s3fifo_ghost_ratio\": \"2\"},
  \"choices\": {\"memory\": [\"8\", \"16\", \"64\"], \"s3fifo_small_ratio\": [\"0.02\", \"0.1\"], \"switch_cost\": [\"0\", \"0.01\"]}}"
# lirs_2_pools: at 1% (99 entries for its 100-key pool) a newcomer is refused unless it is used
# more than what it would evict, so the small pool stays; above 1% GDSF leads, and every policy
# that keeps the small pool has the same expected hit ratio (make bench-bar-noise).
adm_pools="{$mean, \"fixed\": {\"sample\": \"64\", \"window\": \"0\", \"classical\": \"wtinylfu+gdsf\", \"first\": \"gdsf\"},
  \"choices\": {\"switch_cost\": [\"0.5\", \"1\", \"0.3\"], \"history\": [\"8\", \"2\", \"4\"], \"distinct\": [\"0\", \"1\"]}}"
big_w106="{$mean, \"fixed\": {\"distinct\": \"1\", \"history\": \"8\", \"sample\": \"64\"},
  \"choices\": {\"classical\": [\"wtinylfu\", \"lecar+gdsf+wtinylfu\"], \"first\": [\"wtinylfu\", \"0\"], \"switch_cost\": [\"1\", \"0.3\"],
                \"vote\": [\"0\", \"1000\"], \"window\": [\"0.01\", \"0.1\"], \"gap_memory\": [\"0.99\", \"0.95\"]}}"

# trace (its file in ../shared/data/traces, .txt unless named) | search | sizes it is scored at | trials | a trial's CPU seconds (300 where one replays 5 M requests at four sizes) | space
searches=(
  "lirs_multi1|wf_lirs_multi1|1%,10%|24|60|$wf"
  "lirs_multi2|wide_lirs_multi2|1%,10%|48|60|$wide"
  "lirs_multi3|wf_lirs_multi3|1%,10%|48|60|$wf"
  "lirs_cs|wf_lirs_cs|1%,10%|24|60|$wf"
  "lirs_loop|wf_lirs_loop|1%,10%|24|60|$wf"
  "lirs_gli|four_lirs_gli|1%,5%,10%,25%|36|60|$(four ', "first": "2"' '' 2 3 6 255)"
  "lirs_ps|four_lirs_ps|1%,5%,10%,25%|36|60|$(four ', "first": "2"' '' 6 7 14 255)"
  "lirs_2_pools|adm_lirs_2_pools|1%,5%,10%,25%|24|60|$adm_pools"
  "lirs_sprite|ad_lirs_sprite|1%,5%,10%,25%|16|60|$ad_sprite"
  "cache2k_web07|sq_cache2k_web07|1%,5%,10%,25%|24|60|$sq_web"
  "cloudphysics|sq_cloudphysics|1%,5%,10%,25%|24|60|$sq_cloud"
  "address_gcc|vote_address_gcc|1%,5%,10%,25%|24|60|$vote_gcc"
  "address_swim|vote2_address_swim|1%,5%,10%,25%|24|60|$vote_swim"
  "lirs_cpp|vote4_lirs_cpp|1%,5%,10%,25%|16|60|$vote_cpp"
  "cache2k_orm-busy|big_orm_busy|1%,5%,10%,25%|8|300|$big_orm"
  "cloudphysics_w106|big_w106|1%,5%,10%,25%|8|300|$big_w106"
  "cloudphysics.oracleGeneral.bin|mem2_cloudphysics_bin|1%,5%,10%,25%|24|60|$bin_cloud"
)

rows=""
met=0
ran=0
for entry in "${searches[@]}"; do
  IFS='|' read -r -d '' trace search sizes trials cpu space <<<"$entry" || true # the spaces span lines
  [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $trace "* ]] && continue
  file=$trace
  [[ $trace == *.* ]] || file=$trace.txt
  start=$(date +%s)
  "$aicache" optimize --data "$data" run evolve --search "$search" --baseline best-classical --score worst-first --target lru \
    --size "$sizes" --trials "$trials" --trace "$traces_dir/$file" --trial-cpu-seconds "$cpu" --space "$space" >"$data/$search.log" 2>&1 ||
    { echo "bench-evolve: $search failed; see $data/$search.log" >&2; exit 1; }
  judged=$("$aicache" optimize --data "$data" judge "$search" --trace "$traces_dir/$file" --size 1%,5%,10%,25% --trial-cpu-seconds "$cpu")
  best=$(echo "$judged" | sed -n 's/^search [^,]*, \(trial #[0-9]*\),.*/\1/p')
  # Each place: patch - best classical [95% interval] against the best classical policy's name.
  cells=$(echo "$judged" | awk '$2 ~ /%$/ && $8 ~ /^[-+]/ { printf "| %s %s %s %s ", $3, $8, $9, $10 }')
  ahead=$(echo "$judged" | awk '$2 ~ /%$/ && $8 ~ /^[-+]/ && $8 + 0 >= 0 { n++ } END { print n + 0 }')
  ran=$((ran + 1))
  [ "$ahead" = 4 ] && met=$((met + 1))
  rows="$rows| $trace | $search ($trials at $sizes) $best $cells| $ahead of 4 |"$'\n'
  echo "bench-evolve: $trace: $ahead of 4 places at least the best classical policy ($(( $(date +%s) - start )) s)" >&2
done

{
  echo "# evolve against the best classical policy at four sizes"
  echo
  echo "Generated by \`make bench-evolve\` on $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) cores). For each shared trace, the search"
  echo "named (its trials, the sizes it was scored at), its best trial, and that patch at 1% / 5% / 10% / 25% of the"
  echo "trace's footprint (its distinct keys; bytes where it has sizes): the best classical policy there, and the patch's hit ratio minus that policy's in points"
  echo "with a 95% interval from 50 chunks (\`aicache optimize judge\`). Searches and logs: $data."
  echo
  echo "| trace | search, best trial | 1% | 5% | 10% | 25% | at least the best classical |"
  echo "|---|---|---|---|---|---|---|"
  printf "%s" "$rows"
  echo
  echo "At least the best classical policy at all four sizes on $met of $ran traces."
} >"$report"
echo "bench-evolve: $met of $ran traces at least the best classical policy at all four sizes; report in $report"
