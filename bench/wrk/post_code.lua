-- POST /api/codes, each request for a target no other request used.
-- wrk ... -- <run id>
dofile("bench/wrk/report.lua")

local run_id, counter = "run", 0
function init(args)
  run_id = args[1] or run_id
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"channel": "email", "target": "u%d.%d.%s@bench.example.com", "purpose": "login"}',
    thread_id, counter, run_id)
  return wrk.format("POST", "/api/codes", {["Content-Type"] = "application/json"}, body)
end
