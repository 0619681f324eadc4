-- Pacing for the wrk scripts (loaded with dofile from the repository root):
-- with RATE=r and CONNS=c (the -c given to wrk) in the environment, each
-- connection pauses between requests so that the total is about r per
-- second: a light client for latency below saturation. (A pause starts
-- when the previous answer came, so a stall delays the requests behind it
-- instead of piling them up: the tail is slightly understated.)
if os.getenv("RATE") and os.getenv("CONNS") then
  local pause = 1000 * tonumber(os.getenv("CONNS")) / tonumber(os.getenv("RATE")) -- ms
  -- wrk takes whole milliseconds: dither between the two nearest.
  delay = function()
    local whole = math.floor(pause)
    if math.random() < pause - whole then
      return whole + 1
    end
    return whole
  end
end
