#!/usr/bin/env bash
# Drives N clicks (default 5,000,000) at trackd in async mode with wrk, on
# the campaign of setup.sh, and samples trackd's resident memory every
# second; prints the peak.
#
#   tools/load/rss.sh [clicks] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
clicks=${1:-5000000}
conns=${2:-64}
. tools/load/setup.sh
pid=$trackd_pid
(
  while kill -0 $pid 2>/dev/null; do
    rss=$(ps -o rss= -p $pid | tr -d ' ')
    echo "$rss" >> "$bin/rss"
    sleep 1
  done
) &
start=$(date +%s)
# wrk has no request count: run in slices until the store holds enough.
while :; do
  wrk -t2 -c"$conns" -d30s -s tools/load/clicks.lua http://127.0.0.1:18080/camp | awk '/Requests\/sec/ {print "slice:", $2, "req/s"}'
  n=$(curl -sf "http://127.0.0.1:18080/metrics" | awk '/^trackd_clicks_total\{result="recorded"\}/ {print int($2)}')
  echo "recorded so far: $n; rss now: $(ps -o rss= -p $pid | tr -d ' ') KiB"
  [ "${n:-0}" -ge "$clicks" ] && break
done
echo "clicks: $n in $(( $(date +%s) - start ))s"
echo "peak RSS: $(sort -n "$bin/rss" | tail -1) KiB; last: $(tail -1 "$bin/rss") KiB"
