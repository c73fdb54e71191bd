-- GET /v1/debriefs/overdue: the recruiters' queue, first page (50 rows), as a refresh does.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local headers

setup = C.setup
done = C.done

function init(args)
  C.seed()
  headers = C.headers()
end

function request()
  return wrk.format("GET", "/v1/debriefs/overdue", headers)
end
