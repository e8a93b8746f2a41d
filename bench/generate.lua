-- wrk script: POST /api/event-keys/generate with a unique event per request (thread id and a
-- counter in the email), so every request is a real insert, not a cache hit.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid or 0
  run_id = args[1] or "run"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"platform":"lemlist","campaignId":"bench_%s","eventType":"emailsOpened","email":"u%d.%d@example.com","occurredAt":"2024-01-15T10:30:00Z"}',
    run_id, thread_id, counter)
  return wrk.format("POST", "/api/event-keys/generate", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("HERALD_BENCH_KEY"),
  }, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("BENCH requests=%d non2xx=%d\n", summary.requests, non2xx))
end
