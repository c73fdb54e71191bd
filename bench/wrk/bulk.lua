-- POST /v1/candidates/bulk: 1,000 new candidates per call, as a CRM's sync sends them.
-- Every external id, email and phone number is new to the server (the phone is a valid UK
-- mobile from a prefix the harness checked), so each item is validated for real.
local C = dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local BATCH = 1000
local owners, prefixes, headers, tid
local n = 0
local first = { "Amira", "Tom", "Priya", "Kwame", "Sofia", "Liam", "Mei", "Oluwaseun" }
local last = { "Okafor", "Walsh", "Shah", "Mensah", "Rossi", "Byrne", "Chen", "Adeyemi" }

setup = C.setup
done = C.done

function init(args)
  tid = C.seed()
  owners = C.lines("staff.txt")
  prefixes = C.lines("phone_prefixes.txt")
  headers = C.headers({ ["Content-Type"] = "application/json" })
end

function request()
  local items = {}
  for i = 1, BATCH do
    n = n + 1
    local tag = string.format("%s-%d-%d", C.run, tid, n)
    local prefix = prefixes[((tid * 13 + math.floor(n / 1000000)) % #prefixes) + 1]
    local f, l = first[(n % #first) + 1], last[(n * 7 % #last) + 1]
    items[i] = string.format(
      '{"external_id":"bulk-%s","full_name":"%s %s %d","email":"%s.%s.%s@mail.co.uk",' ..
      '"phone":"+44 %s %06d","linkedin_url":"https://www.linkedin.com/in/%s",' ..
      '"owner_id":"%s","timezone":"Europe/London"}',
      tag, f, l, n, string.lower(f), string.lower(l), tag,
      prefix, n % 1000000, tag, owners[(n % #owners) + 1])
  end
  return wrk.format("POST", "/v1/candidates/bulk", headers,
                    '{"items":[' .. table.concat(items, ",") .. "]}")
end
