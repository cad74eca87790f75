-- POST /oauth/token, password grant, Basic client auth. BENCH_REQUESTS ends wrk after that
-- many responses, printing "BENCH_DONE <responses> <non-2xx>" (wrk itself would wait out
-- its whole -d duration); BENCH_XFF=1 sends a distinct X-Forwarded-For per request. Use
-- one thread (-t1) with BENCH_REQUESTS. BENCH_BODY replaces the POST body (a device
-- function call's `args=…`).
local limit = tonumber(os.getenv("BENCH_REQUESTS") or "0")
local xff = os.getenv("BENCH_XFF") == "1"
local path = os.getenv("BENCH_PATH") or "/oauth/token"
local method = os.getenv("BENCH_METHOD") or "POST"
local sent, done, bad = 0, 0, 0
local body = os.getenv("BENCH_BODY") or "grant_type=password&username=user%40example.com&password=password"
if method ~= "POST" then body = nil end
local headers = {
  ["Authorization"] = os.getenv("BENCH_AUTH") or "Basic cGFydGljbGU6cGFydGljbGU=",
  ["Content-Type"] = "application/x-www-form-urlencoded",
}

local function ip(n)
  local a = math.floor(n / 65536) % 256
  local b = math.floor(n / 256) % 256
  local c = n % 256
  return string.format("10.%d.%d.%d", a, b, c)
end

request = function()
  sent = sent + 1
  if xff then headers["X-Forwarded-For"] = ip(sent) end
  return wrk.format(method, path, headers, body)
end

response = function(status, hdrs, resp)
  done = done + 1
  if status >= 300 then bad = bad + 1 end
  if limit > 0 and done >= limit then
    io.write(string.format("BENCH_DONE %d %d\n", done, bad))
    io.flush()
    os.exit(0)
  end
end
