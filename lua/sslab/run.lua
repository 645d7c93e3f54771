-- sslab.run: the folder of one training run.
--
--   local run = require('sslab.run').create('mocov2', cfg)   -- runs/mocov2-20261129-130501/
--   run:log({epoch = 1, loss = 5.2, knn = 41.3})             -- appends a JSON line to metrics.jsonl
--   run:save_checkpoint(tensors, {epoch = '1', step = '200'}) -- checkpoint.safetensors, atomically
--   local run = require('sslab.run').open('runs/mocov2-...')  -- resume: config + checkpoint
--
-- Layout: config.json (the resolved settings), metrics.jsonl (one JSON object
-- per epoch), steps.tsv (step, epoch, loss of every step), checkpoint.safetensors (the whole training state, written
-- atomically by sslab.save), plots (*.png), and whatever a recipe adds.
local core = require 'sslab.core'
local json = require 'sslab.json'

local Run = {}
Run.__index = Run
local run = {Run = Run}

local function write_file(path, text)
  local tmp = path .. '.tmp'
  local f = assert(io.open(tmp, 'w'))
  f:write(text)
  f:close()
  assert(os.rename(tmp, path))
end

--- A new run folder under `root` (default 'runs'): <root>/<name>-<date>-<time>[-k].
function run.create(name, cfg, root)
  root = root or 'runs'
  local stamp = os.date('%Y%m%d-%H%M%S')
  local dir = string.format('%s/%s-%s', root, name, stamp)
  local k = 1
  while io.open(dir .. '/config.json', 'r') do -- same second: add a counter
    k = k + 1
    dir = string.format('%s/%s-%s-%d', root, name, stamp, k)
  end
  assert(core.mkdir(dir))
  local self = setmetatable({dir = dir, name = name, cfg = cfg}, Run)
  write_file(dir .. '/config.json', json.encode(cfg) .. '\n')
  return self
end

--- Reopen an existing run folder (for --resume).
function run.open(dir)
  dir = dir:gsub('/+$', '')
  local f = io.open(dir .. '/config.json', 'r')
  if not f then error(string.format("'%s' is not a run folder (no config.json)", dir), 0) end
  local text = f:read('a')
  f:close()
  return setmetatable({dir = dir, config_text = text}, Run)
end

function Run:path(file)
  return self.dir .. '/' .. file
end

--- Append one metrics record (a flat table) to metrics.jsonl.
function Run:log(record)
  local f = assert(io.open(self:path('metrics.jsonl'), 'a'))
  f:write(json.encode(record), '\n')
  f:close()
end

--- Keep only the lines of `file` for which keep(line) is true (a resumed run drops
--- what was written after its checkpoint, so the files match an uninterrupted run).
function Run:truncate_file(file, keep)
  local f = io.open(self:path(file), 'r')
  if not f then return end
  local lines = {}
  for line in f:lines() do
    if keep(line) then lines[#lines + 1] = line end
  end
  f:close()
  write_file(self:path(file), #lines > 0 and table.concat(lines, '\n') .. '\n' or '')
end

--- Save the training state (name -> tensor) with string metadata, atomically.
function Run:save_checkpoint(tensors, metadata, file)
  local meta = {format = 'sslab-checkpoint', version = '1'}
  for k, v in pairs(metadata or {}) do meta[k] = tostring(v) end
  core.save(self:path(file or 'checkpoint.safetensors'), tensors, meta)
end

--- The saved state, or nil + message if there is none.
function Run:load_checkpoint(file)
  local tensors, meta = core.load(self:path(file or 'checkpoint.safetensors'))
  if not tensors then return nil, meta end
  if meta.format ~= 'sslab-checkpoint' then
    error(string.format("resume: %s is not an sslab training checkpoint", self:path(file or 'checkpoint.safetensors')), 0)
  end
  return tensors, meta
end

return run
