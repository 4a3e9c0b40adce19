-- wrk script: a mix of realistic and bad requests over both endpoints, several customers and
-- traffic classes. Counts answers by status; done() prints one JSON line.
-- Env: LT_PAIRS: space-separated `token=account-uuid` pairs (an account the token may query).

local tokens, accounts = {}, {}
for t, a in string.gmatch(os.getenv("LT_PAIRS") or "", "(%S+)=(%S+)") do
  tokens[#tokens + 1] = t
  accounts[#accounts + 1] = a
end

local paths = {
  "/api/rest/customer/v1/termination-statistics-quality",
  "/api/rest/customer/v1/origination-statistics-quality",
}
local samplings = { "minute", "5minutes", "15minutes", "hour", "day" }
local filters = {
  "", "", "", "&dst-country-id=1", "&dst-prefix-routing-starts-with=1",
  "&duration-gt=60", "&src-prefix-routing-contains=2", "&vendor-price-lt=0.05",
}
local bad = {
  "sampling=weekly", "account-id=nope&from-time=2026-01-01&sampling=day",
  "from-time=2026-01-01", "account-id[]=x", "duration-gt=99999999999",
}

local threads = {}
function setup(thread) threads[#threads + 1] = thread end

counts = {}  -- global: done() reads it from each thread with thread:get
local n = 0

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

function request()
  n = n + 1
  local now = os.time()
  local who = (n % #tokens) + 1
  local headers = { ["Authorization"] = "Bearer " .. tokens[who] }
  local r = math.random(100)
  local query
  if r <= 5 then
    query = bad[math.random(#bad)]
  elseif r <= 8 then
    headers["Authorization"] = "Bearer forged.token.value"
    query = "account-id=" .. accounts[1] .. "&from-time=" .. iso(now - 3600) .. "&sampling=minute"
  else
    local span = ({ 3600, 6 * 3600, 86400 })[math.random(3)]
    query = "account-id=" .. accounts[who]
      .. "&from-time=" .. iso(now - span - math.random(0, 300))
      .. "&sampling=" .. samplings[math.random(#samplings)]
      .. filters[math.random(#filters)]
    if r <= 20 then headers["Cache-Control"] = "no-cache" end
  end
  return wrk.format("GET", paths[math.random(#paths)] .. "?" .. query, headers)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do parts[#parts + 1] = string.format('"%d":%d', k, v) end
  io.write(string.format(
    '{"requests":%d,"seconds":%.1f,"rps":%.0f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,' ..
    '"socket_errors":%d,"timeouts":%d,"status":{%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    table.concat(parts, ",")))
end
