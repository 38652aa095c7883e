-- wrk script for bench/run-serving.sh: POSTs the JSON body in the file named by WRK_BODY on every request (one
-- instance per request: 784 floats for the MNIST servers, one text for sentiment), and prints a machine-readable
-- summary line that Forge.Bench's serving suite reads (latencies in microseconds).
local path = os.getenv("WRK_BODY")
if path == nil then error("set WRK_BODY to the file holding the request body") end
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d non2xx=%d socket_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout))
end
