-- wrk script: POST /api/event-keys/generate with a unique event per request (thread id and a
-- counter in the email), so every request is a real insert, not a cache hit. The request is
-- assembled from pieces made once (wrk shares the 2 cores with the server: wrk.format per
-- request cost it half again as much CPU as a GET /livez request).
local counter = 0
local thread_id = 0
local threads = {}
local head, body_start, body_end

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid or 0
  local run_id = args[1] or "run"
  local host = wrk.port and (wrk.host .. ":" .. wrk.port) or wrk.host
  head = string.format("POST /api/event-keys/generate HTTP/1.1\r\nHost: %s\r\n" ..
                       "Content-Type: application/json\r\nAuthorization: Bearer %s\r\n" ..
                       "Content-Length: ", host, os.getenv("HERALD_BENCH_KEY"))
  body_start = string.format('{"platform":"lemlist","campaignId":"bench_%s","eventType":' ..
                             '"emailsOpened","email":"u%d.', run_id, thread_id)
  body_end = '@example.com","occurredAt":"2024-01-15T10:30:00Z"}'
end

function request()
  counter = counter + 1
  local body = body_start .. counter .. body_end
  return head .. #body .. "\r\n\r\n" .. body
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("BENCH requests=%d non2xx=%d\n", summary.requests, non2xx))
end
