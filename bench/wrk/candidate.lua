-- GET /v1/candidates/{id}, a random real id per request, authenticated.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local ids, headers

setup = C.setup
done = C.done

function init(args)
  C.seed()
  ids = C.lines("candidates.txt")
  headers = C.headers()
end

function request()
  return wrk.format("GET", "/v1/candidates/" .. ids[math.random(#ids)], headers)
end
