-- wrk script: POST /ota/{channel}/OTA_HotelResNotifRQ with a ~4 KB OpenTravel reservation, a
-- new reservation id per request (thread id and a counter), so every push is a real insert.
-- The template comes from OTA_BENCH_TEMPLATE (a file; "__RESID__" marks the id), the path from
-- OTA_BENCH_PATH, HTTP Basic credentials from OTA_BENCH_AUTH.
-- The request is assembled from pieces split once: on a 2-core machine wrk shares the CPU
-- with the server, and a gsub plus wrk.format over 4 KB per request cost more than Herald's
-- HTTP layer does.
local counter = 0
local thread_id = 0
local threads = {}
local head, pieces, fixed_len, prefix

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid or 0
  local run_id = args[1] or "run"
  local f = assert(io.open(os.getenv("OTA_BENCH_TEMPLATE"), "rb"))
  local template = f:read("*a")
  f:close()
  pieces = {}
  local from = 1
  while true do
    local s, e = template:find("__RESID__", from, true)
    if not s then break end
    table.insert(pieces, template:sub(from, s - 1))
    from = e + 1
  end
  table.insert(pieces, template:sub(from))
  fixed_len = #template - 9 * (#pieces - 1)
  local host = wrk.port and (wrk.host .. ":" .. wrk.port) or wrk.host
  head = string.format("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/xml\r\n" ..
                       "Authorization: Basic %s\r\nContent-Length: ",
                       os.getenv("OTA_BENCH_PATH"), host,
                       os.getenv("OTA_BENCH_AUTH"))
  prefix = run_id .. "-" .. thread_id .. "-"
end

function request()
  counter = counter + 1
  local id = prefix .. counter
  local parts = {head, fixed_len + #id * (#pieces - 1), "\r\n\r\n", pieces[1]}
  for i = 2, #pieces do
    parts[#parts + 1] = id
    parts[#parts + 1] = pieces[i]
  end
  return table.concat(parts)
end
