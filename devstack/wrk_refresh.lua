-- wrk script of `make bench-http` (devstack/bench.py): POST /api/refresh/ along refresh-token
-- chains, as clients do. A refresh rotates its token, and a rotated token presented again is a
-- replay that revokes its family, so no token may be sent twice: each thread takes one line of
-- the file BENCH_REFRESH_TOKENS, its pool (tokens separated by spaces, one more than its
-- connections: wrk calls request() once before the run, to check it); request() sends one
-- taken from the pool, response() puts back the one the answer rotated to. A connection has
-- one request in flight, so the pool never runs dry while every answer is a 200. done()
-- prints the count of each status ("answers: 200=N ..."), which the bench reads: any but 200
-- fails the run. Every request carries BENCH_USER_AGENT, as a browser sends its own.
local threads = {}
local lines = {}
for line in io.lines(os.getenv("BENCH_REFRESH_TOKENS")) do
  lines[#lines + 1] = line
end
local headers = {
  ["Content-Type"] = "application/json",
  ["User-Agent"] = os.getenv("BENCH_USER_AGENT"),
}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tokens", lines[#threads] or "")
end

function init(args)
  pool, answers = {}, {}
  for token in tokens:gmatch("%S+") do
    pool[#pool + 1] = token
  end
end

function request()
  -- An empty pool (after an answer other than 200) sends a token the service refuses.
  local token = table.remove(pool) or "none"
  return wrk.format("POST", nil, headers, '{"refresh_token": "' .. token .. '"}')
end

function response(status, headers, body)
  answers[status] = (answers[status] or 0) + 1
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    pool[#pool + 1] = token
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("answers")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    parts[#parts + 1] = status .. "=" .. count
  end
  table.sort(parts)
  print("answers: " .. table.concat(parts, " "))
end
