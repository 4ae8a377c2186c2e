-- wrk script for bench/tracker_vs_opentracker.sh: every request an HTTP announce of a new
-- peer (its own peer_id and port) on one of TORRENTS info-hashes, which are 16 zero bytes and
-- then i + 1 big-endian (the same ones hf_udp_tracker_load uses and the script whitelists for
-- opentracker). A third of the peers are seeders.
local torrents = tonumber(os.getenv("TORRENTS") or "1000")
local counter = 0
local thread_tag = 0

function setup(thread)
  thread_tag = thread_tag + 1
  thread:set("tag", thread_tag)
end

-- wrk's Lua is LuaJIT (5.1): no bit operators, so bytes by division.
local function be32(n)
  local b = {}
  for i = 4, 1, -1 do
    b[i] = string.format("%%%02X", n % 256)
    n = math.floor(n / 256)
  end
  return table.concat(b)
end

local zero16 = string.rep("%00", 16)

function request()
  counter = counter + 1
  local peer = counter * 16 + (tag or 0)
  local hash = zero16 .. be32(peer % torrents + 1)
  local left = (peer % 3 == 0) and 0 or 1000
  local path = "/announce?info_hash=" .. hash .. "&peer_id=-HFWRK0-" .. be32(tag or 0) .. be32(peer) .. "%00%00%00%00"
      .. "&port=" .. (1024 + peer % 60000) .. "&uploaded=0&downloaded=0&left=" .. left
      .. "&compact=1&numwant=50&event=started"
  return wrk.format("GET", path)
end
