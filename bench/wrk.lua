-- wrk script for bench/run. WRK_PIPELINE=N sends N requests per write
-- (pipelining); otherwise wrk's static request is used (no Lua per request).
-- done() prints one machine-readable line, "WRKJSON {...}", for bench.py.
local depth = tonumber(os.getenv("WRK_PIPELINE") or "1")

if depth > 1 then
   local batch
   init = function(args)
      local r = {}
      for i = 1, depth do
         r[i] = wrk.format()
      end
      batch = table.concat(r)
   end
   request = function()
      return batch
   end
end

done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,' ..
      '"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
      summary.requests, summary.bytes, summary.duration, e.connect, e.read,
      e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
