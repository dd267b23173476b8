-- A plain GET that also counts the answers' X-Cache values (hit, miss, stale, bypass).
dofile("bench/wrk/report.lua")
local report = done

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

counts = {}
function response(status, headers, body)
  local served = headers["X-Cache"] or "none"
  counts[served] = (counts[served] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for served, n in pairs(thread:get("counts")) do
      total[served] = (total[served] or 0) + n
    end
  end
  local parts = {}
  for served, n in pairs(total) do
    table.insert(parts, string.format('"%s": %d', served, n))
  end
  io.write('WRK_CACHE {' .. table.concat(parts, ", ") .. '}\n')
  report(summary, latency, requests)
end
