-- Each request as the next of many logged-in users; counts the answers' statuses.
-- wrk ... -- <POST|GET> <path> <cookie file>
dofile("bench/wrk/report.lua")
local method, path, cookies, next_cookie = "POST", "/", {}, 1
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
  tally(status)
end
