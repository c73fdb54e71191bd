-- POST /v1/interviews/{id}/debrief: a recruiter records the candidate's call. The first
-- call on an interview creates the debrief (201) and completes its debrief_call step;
-- later calls amend it (200). Every body differs (notes, ratings), so every call writes.
-- The interviews are taken in turn from a random starting point (each thread its own
-- stretch of the list), so two requests in flight never debrief the same interview: in an
-- agency one call is recorded once, not by two people in the same few milliseconds.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local ids, headers, tid
local n, start = 0, 0
local moods = { "yes", "no", "unsure" }
local channels = { "phone", "phone", "phone", "email", "sms", "in_person" }

setup = C.setup
done = C.done

function init(args)
  tid = C.seed()
  ids = C.lines("debrief_interviews.txt")
  start = math.random(#ids) + (tid - 1) * math.floor(#ids / 16)
  headers = C.headers({ ["Content-Type"] = "application/json" })
end

function request()
  n = n + 1
  local body = string.format(
    '{"channel":"%s","overall_rating":%d,"company_fit":%d,"still_interested":"%s",' ..
    '"went_well":"Built rapport with the panel; the case study landed well.",' ..
    '"went_badly":"Ran short of time on the system design question.",' ..
    '"challenging_questions":["Tell us about a time you disagreed with a manager",' ..
    '"How would you scale the reporting pipeline?"],' ..
    '"salary_expectation":{"amount":"%d.00","currency":"GBP"},' ..
    '"other_applications_active":%s,"linkedin_connected":true,' ..
    '"notes":"Call %s-%d-%d: keen, wants feedback by Friday."}',
    channels[math.random(#channels)], math.random(5), math.random(5), moods[math.random(3)],
    50000 + math.random(40) * 1000, math.random(2) == 1 and "true" or "false",
    C.run, tid, n)
  local path = "/v1/interviews/" .. ids[((start + n) % #ids) + 1] .. "/debrief"
  return wrk.format("POST", path, headers, body)
end
