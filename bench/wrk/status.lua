-- wrk script of bench/bench_http.py: counts answers by status, so a run
-- that measured refusals (401, 404, 5xx) instead of reads is caught.
--
-- Each wrk thread counts in its own Lua state; done() (run once, after the
-- run) adds the threads' counts up and prints one line that bench_http.py
-- parses:
--   STATUS {"200": 51234, "401": 0}   (JSON object, status -> answers)
-- wrk's own "Non-2xx or 3xx responses" line counts only statuses >= 400;
-- here anything but the expected 200 is counted.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   counts = {}
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local thread_counts = thread:get("counts")
      for status, count in pairs(thread_counts) do
         total[status] = (total[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format('"%d": %d', status, count))
   end
   io.write("STATUS {" .. table.concat(parts, ", ") .. "}\n")
end
