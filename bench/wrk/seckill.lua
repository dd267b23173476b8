-- Each request as the next of many logged-in users; counts the answers' statuses.
-- wrk ... -- <POST|GET> <path> <cookie file>
dofile("bench/wrk/report.lua")
local report = done

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local method, path, cookies, next_cookie = "POST", "/", {}, 1
statuses = {}
function init(args)
  method, path = args[1], args[2]
  for line in io.lines(args[3]) do
    table.insert(cookies, line)
  end
  -- Threads take turns through the users, so no user appears twice in a run.
  next_cookie = thread_id
end

function request()
  local cookie = cookies[next_cookie]
  next_cookie = next_cookie + 2
  if next_cookie > #cookies then next_cookie = next_cookie - #cookies end
  if method == "GET" then
    return wrk.format("GET", path, {["Cookie"] = cookie})
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Cookie"] = cookie}, "{}")
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  io.write('WRK_STATUS {' .. table.concat(parts, ", ") .. '}\n')
  report(summary, latency, requests)
end
