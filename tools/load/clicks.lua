-- wrk script: varied campaign clicks (source params, user agents, languages,
-- visitor IPs through X-Forwarded-For, referrers), the same for trackd and
-- for the bare 302 server.
--   wrk -t2 -c64 -d10s -s tools/load/clicks.lua http://127.0.0.1:8080/camp
-- With RATE and CONNS set, connections are paced (pace.lua); run it from
-- the repository root.
local uas = {
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36",
  "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/489.0.0.0;]",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}
local langs = { "en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "pt-BR,pt;q=0.9", "ru-RU,ru;q=0.9", "fr-FR" }
local firsts = { 8, 24, 31, 37, 41, 46, 62, 77, 81, 85, 91, 98, 103, 110, 117, 125, 151, 177, 185, 188, 193, 200, 212, 217 }

dofile("tools/load/pace.lua")

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

request = function()
  local path = string.format(
    "%s?clickid=%08x%08x&zone=%d&campaign=%d&banner=%d&cost=0.00%d&sub1=%d&sub2=site-%d.example&utm_source=push",
    wrk.path, math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), math.random(0, 4999), math.random(0, 49),
    math.random(0, 299), math.random(10, 99), math.random(0, 99999), math.random(0, 1999))
  local headers = {
    ["User-Agent"] = uas[math.random(#uas)],
    ["Accept-Language"] = langs[math.random(#langs)],
    ["Accept"] = "text/html,application/xhtml+xml",
    ["X-Forwarded-For"] = string.format("%d.%d.%d.%d", firsts[math.random(#firsts)], math.random(0, 255),
      math.random(0, 255), math.random(1, 254)),
  }
  if math.random(3) == 1 then
    headers["Referer"] = "https://news-site-" .. math.random(0, 99) .. ".example/article"
  end
  return wrk.format("GET", path, headers)
end

-- With IDS=prefix, each thread appends the click ids of the redirects it
-- gets (the offer URL's aff_sub) to prefix.N: input for postbacks.lua.
if os.getenv("IDS") then
  local out = nil
  response = function(status, headers, body)
    local loc = headers["Location"]
    if loc then
      local id = loc:match("aff_sub=([^&]+)")
      if id then
        if not out then
          out = io.open(os.getenv("IDS") .. "." .. tostring(math.random(1, 1e9)), "a")
          out:setvbuf("line") -- the thread's state is never closed
        end
        out:write(id, "\n")
      end
    end
  end
end
