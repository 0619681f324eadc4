#!/usr/bin/env bash
# Drives N clicks (default 5,000,000) at trackd in async mode with wrk and
# samples trackd's resident memory every second; prints the peak.
#
#   tools/load/rss.sh [clicks] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
clicks=${1:-5000000}
conns=${2:-64}
bin=$(mktemp -d)
data=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$bin" "$data"' EXIT
go build -o "$bin/trackd" ./cmd/trackd
TRACKD_ADMIN_PASSWORD=benchmark-password "$bin/trackd" serve -addr 127.0.0.1:18080 -data "$data" -log-level warn >/dev/null &
pid=$!
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done
key=$("$bin/trackd" apikey create --name rss -data "$data")
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
base=http://127.0.0.1:18080/api/v1
api -X PATCH $base/settings -d '{"trusted_proxies":["127.0.0.1"]}' >/dev/null
api $base/traffic-sources -d '{"name":"Push","params":[{"slot":"external_id","param":"clickid"},{"slot":"sub_id_1","param":"zone"},{"slot":"cost","param":"cost"}]}' >/dev/null
api $base/offers -d '{"name":"O","url":"https://offer.example/?aff_sub={clickid}&s1={sub_id_1}"}' >/dev/null
api $base/campaigns -d '{"alias":"camp","name":"RSS","traffic_source_id":1,"streams":[
  {"name":"tier1","filters":[{"type":"country","values":["US","GB","DE"]}],"offers":[{"offer_id":1}]},
  {"name":"rest","type":"default","offers":[{"offer_id":1}]}]}' >/dev/null
peak=0
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
  echo "recorded so far: $n"
  [ "${n:-0}" -ge "$clicks" ] && break
done
echo "clicks: $n in $(( $(date +%s) - start ))s"
echo "peak RSS: $(sort -n "$bin/rss" | tail -1) KiB; last: $(tail -1 "$bin/rss") KiB"
