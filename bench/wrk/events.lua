-- GET /v1/events?cursor=...: a random page (50 events) of the feed, from cursors the
-- harness collected by walking the feed once.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local cursors, headers

setup = C.setup
done = C.done

function init(args)
  C.seed()
  cursors = C.lines("event_cursors.txt")
  headers = C.headers()
end

function request()
  return wrk.format("GET", "/v1/events?cursor=" .. cursors[math.random(#cursors)], headers)
end
