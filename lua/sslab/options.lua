-- sslab.options: recipe settings with command-line overrides.
--
--   local options = require 'sslab.options'
--   local cfg = options.parse(arg, {
--     {'epochs', 10,      'training epochs'},
--     {'lr',     0.06,    'base learning rate'},
--     {'head',   'mlp',   'projection head', choices = {'none', 'mlp', 'fixed'}},
--     {'blur',   true,    'Gaussian blur on/off'},
--   }, {name = 'mocov2', presets = {small = {...}, imagenet = {...}}})
--
-- `--key value` (or `--key=value`) overrides a default; booleans accept
-- on/off/true/false/1/0 (and `--flag` alone means true); numbers must parse;
-- `--preset name` applies a preset table first; `--help` prints every option
-- with its default and meaning and exits. Unknown options are an error that
-- lists the known ones. parse returns the resolved settings table.
local options = {}

local function typename(v)
  return math.type(v) or type(v)
end

local function convert(spec, text)
  local default, name = spec[2], spec[1]
  local kind = spec.type or typename(default)
  local value
  if kind == 'boolean' then
    local map = {['true'] = true, on = true, yes = true, ['1'] = true,
                 ['false'] = false, off = false, no = false, ['0'] = false}
    value = map[tostring(text):lower()]
    if value == nil then error(string.format("option --%s: expected on/off, got '%s'", name, text), 0) end
  elseif kind == 'integer' then
    value = math.tointeger(tonumber(text))
    if not value then error(string.format("option --%s: expected an integer, got '%s'", name, text), 0) end
  elseif kind == 'float' or kind == 'number' then
    value = tonumber(text)
    if not value then error(string.format("option --%s: expected a number, got '%s'", name, text), 0) end
  else
    value = text
  end
  if spec.choices then
    local ok = false
    for _, c in ipairs(spec.choices) do if c == value then ok = true end end
    if not ok then
      error(string.format("option --%s: '%s' is not one of %s", name, tostring(value),
        table.concat(spec.choices, ', ')), 0)
    end
  end
  return value
end

local function show(v)
  if type(v) == 'string' then return v == '' and "''" or v end
  if type(v) == 'boolean' then return v and 'on' or 'off' end
  return tostring(v)
end

--- Text of --help for these specs.
function options.help(specs, info)
  info = info or {}
  local lines = {}
  if info.name then lines[#lines + 1] = string.format('usage: sslab %s [--option value ...]', info.usage or info.name) end
  if info.description then lines[#lines + 1] = info.description end
  lines[#lines + 1] = ''
  local width = 8
  for _, s in ipairs(specs) do width = math.max(width, #s[1] + 2) end
  if info.presets then
    local names = {}
    for k in pairs(info.presets) do names[#names + 1] = k end
    table.sort(names)
    lines[#lines + 1] = string.format('  %-' .. width .. 's %-12s %s', '--preset', show(info.default_preset or ''),
      'settings preset: ' .. table.concat(names, ', '))
  end
  for _, s in ipairs(specs) do
    local meaning = s[3] or ''
    if s.choices then meaning = meaning .. ' (' .. table.concat(s.choices, '|') .. ')' end
    lines[#lines + 1] = string.format('  %-' .. width .. 's %-12s %s', '--' .. s[1], show(s[2]), meaning)
  end
  lines[#lines + 1] = string.format('  %-' .. width .. 's %-12s %s', '--help', '', 'print this and exit')
  return table.concat(lines, '\n')
end

--- Parse argv against specs; returns settings (and the list of keys set explicitly).
function options.parse(argv, specs, info)
  info = info or {}
  local by_name = {}
  for _, s in ipairs(specs) do
    assert(type(s[1]) == 'string', 'option spec needs a name')
    by_name[s[1]] = s
  end
  local known = function()
    local names = {}
    for _, s in ipairs(specs) do names[#names + 1] = '--' .. s[1] end
    if info.presets then names[#names + 1] = '--preset' end
    return table.concat(names, ' ')
  end
  -- Pass 1: split into (key, text) pairs.
  local pairs_list, preset = {}, info.default_preset
  local i = 1
  argv = argv or {}
  while i <= #argv do
    local a = argv[i]
    local key, inline = a:match('^%-%-([%w_%-]+)=(.*)$')
    if not key then key = a:match('^%-%-([%w_%-]+)$') end
    if not key then error(string.format("unexpected argument '%s' (options are --key value)", a), 0) end
    key = key:gsub('-', '_')
    if key == 'help' then
      print(options.help(specs, info))
      os.exit(0)
    end
    local text = inline
    if text == nil then
      local nxt = argv[i + 1]
      local spec = by_name[key]
      local is_flag = spec and typename(spec[2]) == 'boolean' and (nxt == nil or nxt:match('^%-%-'))
      if is_flag then
        text = 'true'
      else
        if nxt == nil then error(string.format('option --%s needs a value', key), 0) end
        text = nxt
        i = i + 1
      end
    end
    if key == 'preset' and info.presets then
      preset = text
    elseif not by_name[key] then
      error(string.format("unknown option --%s; known options: %s", key, known()), 0)
    else
      pairs_list[#pairs_list + 1] = {key, text}
    end
    i = i + 1
  end
  -- Defaults, then the preset, then explicit options.
  local cfg, explicit = {}, {}
  for _, s in ipairs(specs) do cfg[s[1]] = s[2] end
  if preset then
    local p = info.presets and info.presets[preset]
    if not p then
      local names = {}
      for k in pairs(info.presets or {}) do names[#names + 1] = k end
      table.sort(names)
      error(string.format("unknown preset '%s'; presets: %s", tostring(preset), table.concat(names, ', ')), 0)
    end
    for k, v in pairs(p) do
      if not by_name[k] then error(string.format("preset '%s' sets unknown option '%s'", preset, k), 0) end
      cfg[k] = v
    end
    cfg.preset = preset
  end
  for _, kv in ipairs(pairs_list) do
    cfg[kv[1]] = convert(by_name[kv[1]], kv[2])
    explicit[kv[1]] = true
  end
  return cfg, explicit
end

--- The resolved settings as aligned 'key = value' lines, sorted.
function options.format(cfg)
  local keys = {}
  for k in pairs(cfg) do keys[#keys + 1] = k end
  table.sort(keys)
  local width = 4
  for _, k in ipairs(keys) do width = math.max(width, #k) end
  local lines = {}
  for _, k in ipairs(keys) do lines[#lines + 1] = string.format('  %-' .. width .. 's = %s', k, show(cfg[k])) end
  return table.concat(lines, '\n')
end

return options
