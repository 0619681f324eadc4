#!/usr/bin/env bash
# Measures trackd's click path against a bare net/http 302 server, side by
# side on this machine, in async and sync mode. Usage:
#
#   tools/load/bench.sh [seconds] [connections]
#
# It builds the binaries, starts trackd with the campaign of setup.sh and
# prints the load tools' figures and the ratios. Needs wrk (apt-get install -y wrk). Nothing else may be listening
# on 127.0.0.1:18080 and :18090.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-64}
. tools/load/setup.sh
start_bare302

# Saturation with wrk (apt-get install wrk): it costs the server less CPU
# than a Go client would, so the bare server shows the machine's limit.
run() { # name url
  echo "== $1"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s tools/load/clicks.lua "$2" | tee "$bin/$1.out"
}
rps() { awk '/^Requests\/sec/ {print $2}' "$bin/$1.out"; }

run bare http://127.0.0.1:18090/camp
if [ -n "${PROFILE:-}" ]; then # PROFILE=file: CPU profile of trackd during the async run
  curl -s "http://127.0.0.1:16060/debug/pprof/profile?seconds=$((secs - 2))" -o "$PROFILE" &
fi
run async http://127.0.0.1:18080/camp
wait %?curl 2>/dev/null || true
api -X PATCH $base/settings -d '{"click_durability":"sync"}' >/dev/null
sleep 1.5
run sync http://127.0.0.1:18080/camp
run bare-again http://127.0.0.1:18090/camp
bare=$(( ( $(rps bare | cut -d. -f1) + $(rps bare-again | cut -d. -f1) ) / 2 ))
echo
echo "bare 302 (mean of two runs): $bare req/s"
echo "async: $(rps async) req/s, ratio $(awk "BEGIN {printf \"%.2f\", $(rps async)/$bare}")"
echo "sync:  $(rps sync) req/s, ratio $(awk "BEGIN {printf \"%.2f\", $(rps sync)/$bare}")"
half=$(( $(rps async | cut -d. -f1) / 2 ))
api -X PATCH $base/settings -d '{"click_durability":"async"}' >/dev/null
sleep 1.5
# Latency below saturation with the same light client: wrk pacing each of
# 128 connections (clicks.lua, RATE and CONNS), then the bare server at the
# same rate, which shows what the client and the machine add.
paced() { # name url
  echo "== $1 at half the async saturation rate: $half req/s"
  RATE=$half CONNS=128 wrk -t2 -c128 -d"${secs}s" --latency -s tools/load/clicks.lua "$2" |
    grep -E "Requests/sec|  (50|90|99)%"
}
paced trackd-async http://127.0.0.1:18080/camp
paced bare http://127.0.0.1:18090/camp
echo "rss of trackd: $(ps -o rss= -p "$trackd_pid") KiB"
