#!/usr/bin/env bash
# Measures reports on a seeded store, and the click path with and without
# a report running in a loop beside it. Usage:
#
#   go run ./cmd/trackd seed -data /tmp/seed -clicks 10000000 -days 30   # once
#   tools/load/reports.sh /tmp/seed [runs] [seconds]
#
# Starts trackd on the data dir (127.0.0.1:18080), times each report
# `runs` times (curl; p50, p90 and max; what it read: daily, hourly or
# raw), streams a CSV export of over a million rows while sampling
# trackd's RSS, then runs wrk on a campaign of the seeded store for
# `seconds` alone and again beside a report in a loop (wrk, one
# connection). Needs wrk (apt-get install -y wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
data=$1
runs=${2:-20}
raw_runs=${RAW_RUNS:-3} # reports that scan raw clicks take seconds at millions of clicks
secs=${3:-10}
bin=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$bin"' EXIT
go build -o "$bin/trackd" ./cmd/trackd
"$bin/trackd" serve -addr 127.0.0.1:18080 -data "$data" -log-level warn >/dev/null &
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done
key=$("$bin/trackd" apikey create --name reports -data "$data")
api=http://127.0.0.1:18080/api/v1

timed() { # name query [runs]
  local name=$1 query=$2 runs=${3:-$runs}
  curl -sf -H "Authorization: Bearer $key" "$api/reports?$query" -o "$bin/last.json"
  for _ in $(seq 1 "$runs"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $key" "$api/reports?$query"
  done | sort -n | awk -v name="$name" -v rows="$(grep -o '"count":[0-9]*' "$bin/last.json") $(grep -o '"source":"[a-z]*"' "$bin/last.json")" \
    '{t[NR]=$1} END {printf "%-56s p50 %7.1f ms  p90 %7.1f ms  max %7.1f ms  (%s)\n", name, t[int((NR+1)/2)]*1000, t[int(NR*0.9+0.5)]*1000, t[NR]*1000, rows}'
}
# wrk clicks the first campaign (adding clicks to it); reports filter by the last, left as seeded.
first=$(curl -sf -H "Authorization: Bearer $key" "$api/campaigns" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
camp=$(curl -sf -H "Authorization: Bearer $key" "$api/campaigns" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][-1]["id"])')
alias=$(curl -sf -H "Authorization: Bearer $key" "$api/campaigns/$first" | sed -n 's/.*"alias":"\([^"]*\)".*/\1/p')
if [ -z "${SKIP_REPORTS:-}" ]; then # SKIP_REPORTS=1: the export and the click runs only
echo "== reports, $runs runs each"
timed "day × campaign, last 30 days" "group_by=day,campaign&range=last_30_days"
timed "day × campaign, last 30 days, America/New_York" "group_by=day,campaign&range=last_30_days&timezone=America/New_York"
timed "day × campaign, last 30 days, Asia/Kolkata" "group_by=day,campaign&range=last_30_days&timezone=Asia/Kolkata" "$raw_runs"
timed "hour × stream × offer, one campaign, 7 days" "group_by=hour,stream,offer&range=last_7_days&campaign=$camp"
timed "offer × traffic source, 30 days" "group_by=offer,traffic_source&range=last_30_days"
timed "campaign, today" "group_by=campaign&range=today"
timed "country × offer, 30 days" "group_by=country,offer&range=last_30_days"
timed "day × os, one campaign, US and DE, 30 days" "group_by=day,os&range=last_30_days&campaign=$camp&where=country+in+US,DE"
timed "country × offer, 30 days, America/New_York" "group_by=country,offer&range=last_30_days&timezone=America/New_York" "$raw_runs"
timed "top 100 sub_id_1, one campaign, 30 days" "group_by=sub_id_1&range=last_30_days&campaign=$camp&sort=-clicks&limit=100" "$raw_runs"
fi

echo "== CSV export: sub_id_2 × day × campaign, 30 days"
pid=$(pgrep -f "$bin/trackd serve")
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "trackd RSS before: $(( $(rss) / 1024 )) MiB"
( peak=0; while true; do r=$(rss); (( r > peak )) && peak=$r && echo "$peak" > "$bin/peak"; sleep 0.1; done ) &
sampler=$!
start=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $key" "$api/reports?group_by=sub_id_2,day,campaign&range=last_30_days&format=csv" -o "$bin/export.csv"
end=$(date +%s.%N)
kill $sampler
echo "$(( $(wc -l < "$bin/export.csv") - 1 )) rows, $(du -m "$bin/export.csv" | cut -f1) MiB in $(echo "$end - $start" | bc) s; trackd peak RSS during it: $(( $(cat "$bin/peak") / 1024 )) MiB"

loop_report=${LOOP_REPORT:-group_by=day,campaign&range=last_30_days&timezone=America/New_York}
echo "== clicks on /$alias alone, then beside a report in a loop ($loop_report)"
run() { wrk -t2 -c64 -d"${secs}s" -s tools/load/clicks.lua "http://127.0.0.1:18080/$alias" | grep Requests/sec; }
run
wrk -t1 -c1 -d"$((secs + 2))s" -H "Authorization: Bearer $key" "$api/reports?$loop_report" > "$bin/loop.txt" &
loop=$!
sleep 1
run
wait $loop
echo "reports meanwhile: $(grep Requests/sec "$bin/loop.txt")"
run
