#!/usr/bin/env bash
# Compares the click path of this working tree with a git revision's, side by side:
# both builds run at once on their own throwaway data dirs (127.0.0.1:18080 this
# tree, :18081 the revision), each with the campaign of setup.sh, and wrk saturates
# them in turn, ROUNDS times, so that the machine's drift falls on both. Usage:
#
#   tools/load/ab.sh REVISION [rounds] [seconds] [connections]
#   MODE=sync tools/load/ab.sh bb23337 3 10 64
#
# Prints each run and the ratio of the means (this tree / the revision). Needs wrk
# (apt-get install -y wrk); 18080 and 18081 free.
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:?usage: tools/load/ab.sh REVISION [rounds] [seconds] [connections]}
rounds=${2:-3}
secs=${3:-10}
conns=${4:-64}
SETUP_FUNCTIONS_ONLY=1 . tools/load/setup.sh
old=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; git worktree remove --force "$old" 2>/dev/null; rm -rf "$bin" "$data" "$old"' EXIT
git worktree add --detach -q "$old" "$rev"
go build -o "$bin/new" ./cmd/trackd
(cd "$old" && go build -o "$bin/old" ./cmd/trackd)
mkdir "$data/new" "$data/old"
for side in new:18080 old:18081; do
  start_trackd "$bin/${side%%:*}" "127.0.0.1:${side##*:}" "$data/${side%%:*}"
  if [ -n "${MODE:-}" ]; then
    api -X PATCH "$base/settings" -d '{"click_durability":"'"$MODE"'"}' >/dev/null
  fi
done
sleep 1
for r in $(seq 1 "$rounds"); do
  for side in new:18080 old:18081; do
    n=$(wrk -t2 -c"$conns" -d"${secs}s" -s tools/load/clicks.lua "http://127.0.0.1:${side##*:}/camp" |
      awk '/^Requests\/sec/ {print $2}')
    echo "round $r ${side%%:*}: $n req/s"
    echo "${side%%:*} $n" >>"$bin/runs"
  done
done
awk '{sum[$1] += $2; n[$1]++} END {printf "mean: this tree %.0f req/s, %s %.0f req/s, ratio %.2f\n",
  sum["new"]/n["new"], "'"$rev"'", sum["old"]/n["old"], (sum["new"]/n["new"]) / (sum["old"]/n["old"])}' "$bin/runs"
