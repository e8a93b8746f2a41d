-- wrk script: GET /api/events with the mix of filters a dashboard sends, over the events
-- bench/query_plans fills (300 campaigns, 100,000 leads, 2024). Each connection waits a random
-- 0..2*MEAN ms before each request (argument 1; 0 = no wait), so arrivals spread out instead
-- of all connections firing together.
local mean_ms = 0
local platforms = {"lemlist", "smartlead", "ota", "herald"}
local types = {"sent", "opened", "clicked", "replied", "bounced"}
local spaces = {"ns-a", "ns-b", "ns-c", "ns-d"}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  mean_ms = tonumber(args[1]) or 0
  math.randomseed(os.time() * 1000 + (seed or 0))
end

function delay()
  return math.random() * 2 * mean_ms
end

local function filter()
  local r = math.random(100)
  if r <= 40 then return "" end
  if r <= 50 then return "&platform=" .. platforms[math.random(#platforms)] end
  if r <= 65 then return "&campaignId=cam_" .. math.random(0, 299) end
  if r <= 80 then return "&email=lead" .. math.random(0, 99999) .. "%40example.com" end
  if r <= 90 then return "&eventType=" .. types[math.random(#types)] end
  if r <= 95 then return "&namespace=" .. spaces[math.random(#spaces)] end
  return "&from=2024-12-24T00%3A00%3A00Z"
end

function request()
  return wrk.format("GET", "/api/events?limit=50" .. filter(), {
    ["Authorization"] = "Bearer " .. os.getenv("HERALD_BENCH_KEY"),
  })
end
