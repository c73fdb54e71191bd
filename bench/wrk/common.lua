-- Shared by the wrk scripts of bench/http.py (loaded with dofile; see BENCH_WRK_DIR).
--   BENCH_DATA  directory of the data files the harness wrote (ids, cursors, ...)
--   BENCH_KEY   the API key, sent as `Authorization: Bearer ...`
--   BENCH_RUN   a token unique to this wrk run (bulk upserts make new external ids from it)
local M = {}

M.data = assert(os.getenv("BENCH_DATA"), "BENCH_DATA is not set")
M.run = os.getenv("BENCH_RUN") or tostring(os.time())

function M.lines(name)
  local items = {}
  for line in io.lines(M.data .. "/" .. name) do
    if #line > 0 then items[#items + 1] = line end
  end
  assert(#items > 0, "no lines in " .. name)
  return items
end

function M.headers(extra)
  local headers = { ["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_KEY"), "BENCH_KEY") }
  for k, v in pairs(extra or {}) do headers[k] = v end
  return headers
end

-- Threads are numbered in setup(), so each seeds its own generator and makes its own ids.
local counter = 0
function M.setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function M.seed()
  local tid = tonumber(wrk.thread:get("tid")) or 1
  math.randomseed(os.time() * 1000 + tid * 7919 + (os.clock() * 1e6) % 1000)
  return tid
end

-- One line the harness parses: counts, errors and the latency distribution (microseconds).
function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end

return M
