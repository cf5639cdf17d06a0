-- wrk script: each request picks a random URL path from $BENCH_URLS
-- (one path per line). Seeded, so runs are comparable.
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do
    urls[#urls + 1] = line
end
math.randomseed(tonumber(os.getenv("BENCH_SEED") or "42"))

request = function()
    return wrk.format("GET", urls[math.random(#urls)])
end

done = function(summary, latency, requests)
    io.write(string.format("BENCH rps=%.1f p50=%.2f p99=%.2f errors=%d non2xx=%d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.errors.connect + summary.errors.read + summary.errors.write
            + summary.errors.timeout,
        summary.errors.status))
end
