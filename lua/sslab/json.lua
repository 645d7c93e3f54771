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
    if v == math.floor(v) and math.abs(v) < 1e15 then return string.format('%.1f', v) end -- stays a float
    local short = string.format('%.15g', v)
    return tonumber(short) == v and short or string.format('%.17g', v)
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

-- {======================================================================
-- decoding (configs and metrics written by sslab; strict JSON)
-- =======================================================================

local function decode_error(text, pos, what)
  error(string.format('json.decode: %s at byte %d', what, pos), 0)
end

local function skip(text, pos)
  return text:find('[^ \t\r\n]', pos) or #text + 1
end

local decode_value

local function decode_string(text, pos)
  local out, i = {}, pos + 1
  while true do
    local c = text:sub(i, i)
    if c == '' then decode_error(text, i, 'unterminated string') end
    if c == '"' then return table.concat(out), i + 1 end
    if c == '\\' then
      local e = text:sub(i + 1, i + 1)
      local map = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t'}
      if map[e] then
        out[#out + 1] = map[e]
        i = i + 2
      elseif e == 'u' then
        local hex = text:sub(i + 2, i + 5)
        if not hex:match('^%x%x%x%x$') then decode_error(text, i, 'bad \\u escape') end
        out[#out + 1] = utf8.char(tonumber(hex, 16))
        i = i + 6
      else
        decode_error(text, i, 'bad escape')
      end
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
end

decode_value = function(text, pos, depth)
  if depth > 100 then decode_error(text, pos, 'nesting too deep') end
  pos = skip(text, pos)
  local c = text:sub(pos, pos)
  if c == '{' then
    local obj = {}
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == '}' then return obj, pos + 1 end
    while true do
      if text:sub(pos, pos) ~= '"' then decode_error(text, pos, 'expected a key') end
      local key
      key, pos = decode_string(text, pos)
      pos = skip(text, pos)
      if text:sub(pos, pos) ~= ':' then decode_error(text, pos, "expected ':'") end
      obj[key], pos = decode_value(text, pos + 1, depth + 1)
      pos = skip(text, pos)
      local d = text:sub(pos, pos)
      if d == '}' then return obj, pos + 1 end
      if d ~= ',' then decode_error(text, pos, "expected ',' or '}'") end
      pos = skip(text, pos + 1)
    end
  elseif c == '[' then
    local arr = setmetatable({}, json.array_mt)
    pos = skip(text, pos + 1)
    if text:sub(pos, pos) == ']' then return arr, pos + 1 end
    while true do
      arr[#arr + 1], pos = decode_value(text, pos, depth + 1)
      pos = skip(text, pos)
      local d = text:sub(pos, pos)
      if d == ']' then return arr, pos + 1 end
      if d ~= ',' then decode_error(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(text, pos)
  elseif text:sub(pos, pos + 3) == 'true' then return true, pos + 4
  elseif text:sub(pos, pos + 4) == 'false' then return false, pos + 5
  elseif text:sub(pos, pos + 3) == 'null' then return nil, pos + 4
  else
    local num = text:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
    if not num or num == '' or num == '-' then decode_error(text, pos, 'unexpected character') end
    local v = tonumber(num)
    if not num:find('[.eE]') then v = math.tointeger(v) or v end -- "3" is an integer, "3.0" a float
    return v, pos + #num
  end
end

--- Decode JSON text into Lua values (null becomes nil; arrays keep json.array_mt).
function json.decode(text)
  local value, pos = decode_value(text, 1, 0)
  pos = skip(text, pos)
  if pos <= #text then decode_error(text, pos, 'trailing characters') end
  return value
end

return json
