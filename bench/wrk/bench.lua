-- One wrk script for every scenario, configured through the environment:
--   BENCH_PATH      path + query string to request (required)
--   BENCH_AUTH      value of the Authorization header (optional)
--   BENCH_NOCACHE   "1" adds Cache-Control: no-cache
--   BENCH_BODY_FILE file whose contents are POSTed (switches the method to POST)
--   BENCH_VARY      "from" : BENCH_PATH contains {FROM}; request i of thread k gets
--                   from-time = start - 24 h + BENCH_VARY_BASE + (i * BENCH_THREADS + k) mod 7200
--                   seconds (RFC 3339, UTC), so every request is a response-cache miss while
--                   its whole buckets stay inside the settled segment cached by an earlier
--                   request (moving the start later, never earlier, than that request's)
--   BENCH_VARY_BASE seconds added to the offset (keeps warm-up and measured runs apart)
--   BENCH_THREADS   wrk's -t (default 1)
--   BENCH_CHECK     "1" records the x-cdrstats-source header of every response
-- done() prints one line: BENCHJSON {...} with latency percentiles in ms.

local path = os.getenv("BENCH_PATH") or "/"
local auth = os.getenv("BENCH_AUTH")
local vary = os.getenv("BENCH_VARY")
local vary_base = tonumber(os.getenv("BENCH_VARY_BASE") or "0")
local body_file = os.getenv("BENCH_BODY_FILE")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

wrk.method = "GET"
wrk.headers["Connection"] = "keep-alive"
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
if os.getenv("BENCH_NOCACHE") == "1" then wrk.headers["Cache-Control"] = "no-cache" end
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain"
end

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  sources = {}
  t0 = os.time()
  if vary ~= "from" then
    -- a fixed request, formatted once
    fixed = wrk.format(nil, path)
  end
end

function request()
  if fixed then return fixed end
  counter = counter + 1
  -- threads interleave by id so no two requests share a from-time
  local i = (counter * nthreads + id) % 7200
  local t = t0 - 86400 + vary_base + i
  local from = os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  return wrk.format(nil, (path:gsub("{FROM}", from)))
end

if os.getenv("BENCH_CHECK") == "1" then
  function response(status, headers, body)
    local s = headers["x-cdrstats-source"] or headers["X-Cdrstats-Source"] or ("status-" .. status)
    sources[s] = (sources[s] or 0) + 1
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local src = {}
  for _, t in ipairs(threads) do
    local s = t:get("sources")
    if s then
      for k, v in pairs(s) do src[k] = (src[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(src) do table.insert(parts, string.format('"%s":%d', k, v)) end
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,"errors":%d,"non2xx":%d,"sources":{%s}}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, table.concat(parts, ",")))
end
