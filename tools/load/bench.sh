#!/usr/bin/env bash
# Measures trackd's click path against a bare net/http 302 server, side by
# side on this machine, in async and sync mode. Usage:
#
#   tools/load/bench.sh [seconds] [connections]
#
# It builds the binaries, starts trackd on a throwaway data dir with a
# 3-stream campaign with filters, and prints the load tool's figures and the
# ratios. Needs wrk (apt-get install -y wrk). Nothing else may be listening
# on 127.0.0.1:18080 and :18090.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-64}
bin=$(mktemp -d)
data=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$bin" "$data"' EXIT
go build -o "$bin/trackd" ./cmd/trackd
go build -o "$bin/bare302" ./tools/bare302
go build -o "$bin/load" ./tools/load

"$bin/bare302" -addr 127.0.0.1:18090 &
TRACKD_ADMIN_PASSWORD=benchmark-password "$bin/trackd" serve -addr 127.0.0.1:18080 -data "$data" -log-level warn \
  -debug-addr 127.0.0.1:16060 >/dev/null &
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.2; done
key=$("$bin/trackd" apikey create --name bench -data "$data")
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
base=http://127.0.0.1:18080/api/v1
api -X PATCH $base/settings -d '{"trusted_proxies":["127.0.0.1"]}' >/dev/null
api $base/traffic-sources -d '{"name":"Push","params":[{"slot":"external_id","param":"clickid"},{"slot":"sub_id_1","param":"zone"},
  {"slot":"ad_campaign_id","param":"campaign"},{"slot":"creative_id","param":"banner"},{"slot":"cost","param":"cost"},
  {"slot":"sub_id_2","param":"sub2"},{"slot":"source","param":"utm_source"}]}' >/dev/null
for o in 1 2 3; do
  api $base/offers -d '{"name":"Offer '$o'","url":"https://offer'$o'.example/?aff_sub={clickid}&s1={sub_id_1}&s2={sub_id_2}&cc={country}&os={os}"}' >/dev/null
done
api $base/campaigns -d '{"alias":"camp","name":"Bench","traffic_source_id":1,"cost":{"model":"cpc","amount":"0.001","from_param":true},
  "streams":[
   {"name":"bots","type":"forced","filters":[{"type":"bot"}],"action":{"type":"not_found"}},
   {"name":"tier1 mobile","filters":[{"type":"country","values":["US","GB","DE","CA","AU"]},{"type":"device_type","values":["mobile","tablet"]}],
    "offers":[{"offer_id":1,"share":70},{"offer_id":2,"share":30}]},
   {"name":"android zones","filters":[{"type":"os","values":["Android"]},{"type":"param","name":"zone","op":"regex","values":["^[0-9]{1,3}$"]}],
    "offers":[{"offer_id":2}]},
   {"name":"rest","type":"default","offers":[{"offer_id":3}]}]}' >/dev/null

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
echo "== async at half saturation: $half req/s"
"$bin/load" -url http://127.0.0.1:18080/camp -c 256 -d "${secs}s" -rate "$half"
echo "rss of trackd: $(ps -o rss= -p "$(pgrep -f "$bin/trackd serve")") KiB"
