-- A plain GET that also counts the answers' X-Cache values (hit, miss, stale, bypass).
dofile("bench/wrk/report.lua")

function response(status, headers, body)
  tally(headers["X-Cache"] or "none")
end
