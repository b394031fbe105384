-- wrk script: POSTs verification checks with a partner key, cycling through real
-- registry entries read from a tab-separated file (see verify.sh). Requests are formatted
-- once at start and answers are not read into Lua (wrk counts non-2xx itself): the client's
-- own work per request stays close to the plain GET of the /healthz baseline.
--   kind=permit:  kind \t number \t name \t date_of_birth
--   kind=linkage: travel_kind \t travel_number \t residence_permit \t name
local rows = {}
local mode = os.getenv("CHECK") or "permit"
local key = os.getenv("PARTNER_KEY")

local function json_escape(s)
  return (s:gsub('\\', '\\\\'):gsub('"', '\\"'))
end

init = function(args)
  local file = os.getenv("CHECKS_FILE")
  for line in io.lines(file) do
    local a, b, c, d = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)")
    if a then
      if mode == "permit" then
        rows[#rows + 1] = string.format(
          '{"document_kind":"%s","document_number":"%s","name":"%s","date_of_birth":"%s"}',
          a, b, json_escape(c), d)
      else
        rows[#rows + 1] = string.format(
          '{"travel_document_kind":"%s","travel_document_number":"%s","residence_permit_number":"%s","name":"%s"}',
          a, b, c, json_escape(d))
      end
    end
  end
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }
  for i, body in ipairs(rows) do
    rows[i] = wrk.format("POST", "/api/v1/verify/" .. mode, headers, body)
  end
  -- Each thread starts at its own place in the rows.
  math.randomseed(os.time() + math.floor(os.clock() * 1000))
  next_row = math.random(#rows)
end

request = function()
  next_row = next_row % #rows + 1
  return rows[next_row]
end
