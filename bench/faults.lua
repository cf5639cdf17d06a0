-- wrk script of bench/faults: each request picks a random URL path from
-- $BENCH_URLS (one path per line), seeded by $BENCH_SEED. The statuses are
-- counted by nginx's log (bench/faults reads it); this prints wrk's own
-- socket errors by kind, which never reach that log when nginx is down.
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do
    urls[#urls + 1] = line
end
math.randomseed(tonumber(os.getenv("BENCH_SEED") or "42"))

request = function()
    return wrk.format("GET", urls[math.random(#urls)])
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "WRK requests=%d rps=%.1f p99=%.1f connect=%d read=%d write=%d timeout=%d status=%d\n",
        summary.requests, summary.requests / (summary.duration / 1e6),
        latency:percentile(99) / 1000, e.connect, e.read, e.write, e.timeout,
        e.status))
end
