-- sslab.json: a small JSON encoder for configs and metrics (JSON lines).
--   json.encode({epoch = 1, knn = 0.83}) --> {"epoch":1,"knn":0.83}
-- Tables with keys 1..n are arrays; other keys are sorted for stable output.
-- NaN and infinities become null (JSON has no such numbers).
local json = {}

local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                 ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format('\\u%04x', c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= 'integer' or k < 1 or k > n then return false end
  end
  return true
end

local function encode(v, seen)
  local kind = type(v)
  if kind == 'nil' then return 'null'
  elseif kind == 'boolean' then return tostring(v)
  elseif kind == 'number' then
    if v ~= v or v == math.huge or v == -math.huge then return 'null' end
    if math.type(v) == 'integer' then return tostring(v) end
    return string.format('%.17g', v)
  elseif kind == 'string' then return encode_string(v)
  elseif kind == 'table' then
    if seen[v] then error('json.encode: cycle in table', 0) end
    seen[v] = true
    local parts = {}
    if is_array(v) and (next(v) ~= nil or getmetatable(v) == json.array_mt) then
      for i = 1, #v do parts[i] = encode(v[i], seen) end
      seen[v] = nil
      return '[' .. table.concat(parts, ',') .. ']'
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local value = v[k]
      if value == nil then value = v[tonumber(k)] end
      parts[#parts + 1] = encode_string(k) .. ':' .. encode(value, seen)
    end
    seen[v] = nil
    return '{' .. table.concat(parts, ',') .. '}'
  else
    return encode_string(tostring(v))
  end
end

json.array_mt = {}

--- Encode a Lua value as compact JSON text.
function json.encode(v)
  return encode(v, {})
end

return json
