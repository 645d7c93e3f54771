-- sslab.repl: how the sslab REPL shows results (used by repl/repl.c).
--
--   local repl = require 'sslab.repl'
--   repl.format(v [, opts]) -> string   one value as the REPL shows it
--   repl.print(...)                     what the REPL calls with a chunk's results
--   repl.options                        defaults, editable in a session:
--     depth  = 3    nested tables shown this deep, deeper ones as {...}
--     items  = 50   entries shown per table, then "... (N more)"
--     width  = 80   a table fits on one line up to this width, else one entry a line
--     string = 200  bytes shown of a string inside a table
--
-- Strings are quoted and escaped; tables are listed in a stable order (array
-- part, then numbers, then strings, then the rest); values whose metatable has
-- __tostring (tensors, modules) print with tostring; cycles print as <cycle>.
local M = {}

M.options = { depth = 3, items = 50, width = 80, string = 200 }

local getmetatable = debug.getmetatable -- the real one, even if __metatable hides it

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not
            or repeat return then true until while]]):gmatch('%a+') do
  keywords[w] = true
end

local escapes = { ['\n'] = '\\n', ['\t'] = '\\t', ['\r'] = '\\r', ['\\'] = '\\\\', ['"'] = '\\"' }

local function quote(s, max)
  local cut = ''
  if max and #s > max then
    cut = ('... (%d bytes)'):format(#s)
    s = s:sub(1, max)
  end
  s = s:gsub('[%c"\\]', function(c) return escapes[c] or ('\\%03d'):format(c:byte()) end)
  return '"' .. s .. '"' .. cut
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == 'string' then return s end
  return ('<%s: error in __tostring: %s>'):format(type(v), tostring(s))
end

local function key_string(k)
  if type(k) == 'string' and k:match('^[%a_][%w_]*$') and not keywords[k] then return k end
  if type(k) == 'string' then return '[' .. quote(k, M.options.string) .. ']' end
  return '[' .. safe_tostring(k) .. ']'
end

local type_rank = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_rank[ta] or 9) < (type_rank[tb] or 9) end
  if ta == 'number' or ta == 'string' then return a < b end
  return safe_tostring(a) < safe_tostring(b)
end

local format

local function format_table(t, opts, depth, seen, indent)
  local mt = getmetatable(t)
  if type(mt) == 'table' and rawget(mt, '__tostring') then return safe_tostring(t) end
  local name = type(mt) == 'table' and type(rawget(mt, '__name')) == 'string'
               and rawget(mt, '__name') .. ' ' or ''
  if next(t) == nil then return name .. '{}' end
  if seen[t] then return '<cycle>' end
  if depth >= opts.depth then return name .. '{...}' end
  seen[t] = true
  local items, shown, total = {}, 0, 0 -- items[1..narr] come from the array part
  local inner = indent .. '  '
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  for i = 1, n do
    total = total + 1
    if shown < opts.items then
      shown = shown + 1
      items[shown] = format(rawget(t, i), opts, depth + 1, seen, inner)
    end
  end
  local narr = shown
  local keys = {}
  for k in next, t do
    if not (math.type(k) == 'integer' and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  total = total + #keys
  table.sort(keys, key_less)
  for _, k in ipairs(keys) do
    if shown >= opts.items then break end
    shown = shown + 1
    items[shown] = key_string(k) .. ' = ' .. format(rawget(t, k), opts, depth + 1, seen, inner)
  end
  seen[t] = nil -- only cycles along the current path are cut
  if total > shown then items[#items + 1] = ('... (%d more)'):format(total - shown) end
  local line = name .. '{' .. table.concat(items, ', ') .. '}'
  if #indent + #line <= opts.width and not line:find('\n') then return line end
  -- one entry a line, but short array items share lines up to the width
  local lines = {}
  for i, it in ipairs(items) do
    local piece = it .. (i < #items and ',' or '')
    local last = lines[#lines]
    if i <= narr and i > 1 and not it:find('\n') and not last:find('\n')
       and #inner + #last + 1 + #piece <= opts.width then
      lines[#lines] = last .. ' ' .. piece
    else
      lines[#lines + 1] = piece
    end
  end
  return name .. '{\n' .. inner .. table.concat(lines, '\n' .. inner) .. '\n' .. indent .. '}'
end

function format(v, opts, depth, seen, indent)
  local t = type(v)
  if t == 'string' then return quote(v, depth > 0 and opts.string or nil) end
  if t == 'table' then return format_table(v, opts, depth, seen, indent) end
  local s = safe_tostring(v)
  if depth > 0 and s:find('\n') then s = s:gsub('\n', '\n' .. indent) end
  return s
end

--- One value as the REPL shows it; opts overrides fields of M.options.
function M.format(v, opts)
  local o = setmetatable({}, { __index = M.options })
  for k, x in pairs(opts or {}) do o[k] = x end
  return format(v, o, 0, {}, '')
end

--- Print all arguments (a chunk's results), separated by tabs.
function M.print(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = M.format((select(i, ...))) end
  io.stdout:write(table.concat(parts, '\t'), '\n')
  io.stdout:flush()
end

return M
