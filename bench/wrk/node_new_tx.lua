-- wrk script for bench/node_vs_seed.sh: POST /new_transaction with a distinct transaction per
-- request (about 100 bytes of JSON: an author naming the run and the thread, and an 80-character
-- content naming the thread and a per-thread counter), and count the answers by status.
--   wrk -t2 -c20 -d10s --latency -s bench/wrk/node_new_tx.lua http://127.0.0.1:8000 -- TAG
-- TAG (default "wrk") keeps the transactions of different runs apart. After wrk's own summary
-- done() prints one line per count:
--   acknowledged: N   (201 answers: transactions the node took)
--   other_status: N   (any other status)
-- Each thread runs in its own Lua state: setup() numbers the threads and keeps them so that
-- done() can add up their counters.

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  tag = args[1] or "wrk"
  counter = 0
  acknowledged = 0
  other_status = 0
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local head = string.format("%s thread %d transaction %d ", tag, thread_id, counter)
  local content = head .. string.rep("x", 80 - #head)
  local body = string.format('{"author": "%s-t%d", "content": "%s"}', tag, thread_id, content)
  return wrk.format("POST", "/new_transaction", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    acknowledged = acknowledged + 1
  else
    other_status = other_status + 1
  end
end

function done(summary, latency, requests)
  local ack, other = 0, 0
  for _, thread in ipairs(threads) do
    ack = ack + thread:get("acknowledged")
    other = other + thread:get("other_status")
  end
  io.write(string.format("acknowledged: %d\nother_status: %d\n", ack, other))
end
