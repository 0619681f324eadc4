-- wrk script: postbacks for the click ids listed in the file $IDS, one id
-- per line, as an affiliate network sends them. Each of wrk's threads takes
-- every n-th id; the first pass over the ids makes leads, the second turns
-- them into sales, later passes are duplicates (all answered 200).
--   IDS=ids.txt KEY=postback-key wrk -t2 -c64 -d10s -s tools/load/postbacks.lua http://127.0.0.1:8080
-- With RATE and CONNS set, connections are paced (pace.lua); run it from
-- the repository root.
local count = 0

function setup(thread)
  thread:set("index", count)
  count = count + 1
end

dofile("tools/load/pace.lua")

local ids = {}
local next_id = 1
local pass = 0
local statuses = { "lead", "sale" }

function init(args)
  local n = 0
  local threads = tonumber(os.getenv("THREADS") or "2") -- wrk's -t
  for line in io.lines(os.getenv("IDS")) do
    if n % threads == index then
      table.insert(ids, line)
    end
    n = n + 1
  end
  if #ids == 0 then
    error("no click ids in " .. os.getenv("IDS"))
  end
  key = os.getenv("KEY")
end

request = function()
  if next_id > #ids then
    next_id = 1
    pass = pass + 1
  end
  local id = ids[next_id]
  next_id = next_id + 1
  local status = statuses[pass + 1] or "sale"
  local path = string.format("/%s/postback?subid=%s&status=%s&payout=%d.%02d&currency=USD&tid=T%s",
    key, id, status, 1 + pass, next_id % 100, id)
  return wrk.format("GET", path)
end
