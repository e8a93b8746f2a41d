-- wrk script: POST /ota/{channel}/OTA_HotelResNotifRQ with a ~4 KB OpenTravel reservation, a
-- new reservation id per request (thread id and a counter), so every push is a real insert.
-- The template comes from OTA_BENCH_TEMPLATE (a file; "__RESID__" marks the id), the path from
-- OTA_BENCH_PATH, HTTP Basic credentials from OTA_BENCH_AUTH.
local counter = 0
local thread_id = 0
local threads = {}
local template, path, auth

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid or 0
  run_id = args[1] or "run"
  local f = assert(io.open(os.getenv("OTA_BENCH_TEMPLATE"), "rb"))
  template = f:read("*a")
  f:close()
  path = os.getenv("OTA_BENCH_PATH")
  auth = os.getenv("OTA_BENCH_AUTH")
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", run_id, thread_id, counter)
  local body = template:gsub("__RESID__", id)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/xml",
    ["Authorization"] = "Basic " .. auth,
  }, body)
end
