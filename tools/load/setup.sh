# Sourced by bench.sh, postbacks.sh, rss.sh and ab.sh: builds trackd, starts it on a throwaway
# data dir at 127.0.0.1:18080 (pprof on :16060) and configures the benchmark
# campaign "camp": a traffic source with 7 parameters, 3 offers and 4 streams
# (a forced bot stream; country + device filters with a 70/30 offer split;
# OS + a query-parameter regex; a default). Defines $bin, $data, $trackd_pid,
# api (curl with the API key) and start_bare302 (the bare 302 server on
# 127.0.0.1:18090, for the side-by-side runs).
bin=$(mktemp -d)
data=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$bin" "$data"' EXIT
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
# start_trackd BINARY ADDR DATA [SERVE FLAGS...]: starts trackd ($trackd_pid), waits for it, makes an API key
# ($key; api and $base then talk to it) and the benchmark campaign.
start_trackd() {
  local exe=$1 addr=$2 dir=$3
  shift 3
  TRACKD_ADMIN_PASSWORD=benchmark-password "$exe" serve -addr "$addr" -data "$dir" -log-level warn "$@" >/dev/null &
  trackd_pid=$!
  for _ in $(seq 1 50); do curl -sf "http://$addr/healthz" >/dev/null && break; sleep 0.2; done
  key=$("$exe" apikey create --name bench -data "$dir")
  base=http://$addr/api/v1
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
}
if [ -z "${SETUP_FUNCTIONS_ONLY:-}" ]; then
  go build -o "$bin/trackd" ./cmd/trackd
  start_trackd "$bin/trackd" 127.0.0.1:18080 "$data" -debug-addr 127.0.0.1:16060
fi
start_bare302() {
  go build -o "$bin/bare302" ./tools/bare302
  "$bin/bare302" -addr 127.0.0.1:18090 &
  for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:18090/camp && break; sleep 0.1; done
}
