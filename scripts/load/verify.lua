-- wrk script: POSTs verification checks with a partner key, cycling through real
-- registry entries read from a tab-separated file (see verify.sh).
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
  math.randomseed(os.time() + math.floor(os.clock() * 1000))
end

request = function()
  local body = rows[math.random(#rows)]
  return wrk.format("POST", "/api/v1/verify/" .. mode, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end

local errors = 0
response = function(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("HTTP " .. status .. ": " .. body .. "\n") end
  end
end
