#!/usr/bin/env bash
# Measures trackd's postback path: durable postbacks per second and their
# latency, side by side with the bare 302 server answering the same
# requests, then clicks at half their saturation rate (paced) alone,
# beside postbacks at saturation and beside postbacks paced at PB_RATE
# (default 2000/s), with the clicks' latency each time. Usage:
#
#   tools/load/postbacks.sh [seconds] [connections]
#
# Needs wrk (apt-get install -y wrk); 127.0.0.1:18080 and :18090 free.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-64}
. tools/load/setup.sh
start_bare302
export KEY=$(api $base/settings | sed -n 's/.*"postback_key":"\([^"]*\)".*/\1/p')
[ -n "$KEY" ] || { echo "no postback key"; exit 1; }

# Click ids to convert: saturate the click path for a while, keeping the
# ids of the redirects; sync mode, so every id is in the store.
api -X PATCH $base/settings -d '{"click_durability":"sync"}' >/dev/null
sleep 1.5
IDS="$bin/ids" wrk -t2 -c64 -d"$((secs * 2))s" -s tools/load/clicks.lua http://127.0.0.1:18080/camp | grep Requests/sec
cat "$bin"/ids.* | sort -u >"$bin/ids"
export IDS="$bin/ids"
echo "click ids to convert: $(wc -l <"$IDS")"
api -X PATCH $base/settings -d '{"click_durability":"async"}' >/dev/null
sleep 1.5

run() { # name url [wrk options]
  local name=$1 url=$2
  shift 2
  echo "== $name"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s tools/load/postbacks.lua "$@" "$url" | tee "$bin/$name.out" |
    grep -E "Requests/sec|  (50|90|99)%|Non-2xx|Socket errors"
}
rps() { awk '/^Requests\/sec/ {print $2}' "$bin/$1.out"; }
run bare http://127.0.0.1:18090
if [ -n "${PROFILE:-}" ]; then # PROFILE=file: CPU profile of trackd during the postback run
  curl -s "http://127.0.0.1:16060/debug/pprof/profile?seconds=$((secs - 2))" -o "$PROFILE" &
fi
run postbacks http://127.0.0.1:18080
wait %?curl 2>/dev/null || true
echo "postbacks/bare: $(awk "BEGIN {printf \"%.2f\", $(rps postbacks)/$(rps bare)}")"

# Click saturation rate, then clicks paced at half of it beside the
# postback load, then the clicks alone at the same rate.
echo "== clicks, saturation"
wrk -t2 -c64 -d"${secs}s" -s tools/load/clicks.lua http://127.0.0.1:18080/camp | tee "$bin/clicks.out" | grep Requests/sec
half=$(( $(rps clicks | cut -d. -f1) / 2 ))
paced() { # name
  echo "== $1: clicks paced at $half req/s"
  RATE=$half CONNS=128 wrk -t2 -c128 -d"${secs}s" --latency -s tools/load/clicks.lua http://127.0.0.1:18080/camp |
    grep -E "Requests/sec|  (50|90|99)%"
}
beside() { # name [wrk options]: postbacks in the background, paced clicks beside them
  local name=$1
  shift
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s tools/load/postbacks.lua "$@" http://127.0.0.1:18080 >"$bin/beside.out" &
  local pb=$!
  sleep 0.5
  paced "clicks beside $name"
  wait $pb
  echo "== $name beside the clicks"
  grep -E "Requests/sec|  (50|90|99)%|Non-2xx|Socket errors" "$bin/beside.out"
}
paced "clicks alone"
beside "postbacks at saturation"
pbrate=${PB_RATE:-2000}
RATE=$pbrate CONNS=32 beside "postbacks paced at $pbrate per second" -c32
echo "rss of trackd: $(ps -o rss= -p "$trackd_pid") KiB"
