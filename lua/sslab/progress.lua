-- sslab.progress: a progress bar on a terminal, plain log lines otherwise.
--
--   local bar = progress.new{total = steps, label = 'epoch 1/10', out = io.stdout}
--   for step = 1, steps do ...; bar:update(step, {loss = 0.3, ['img/s'] = 850}) end
--   bar:finish({loss = 0.29})
--
-- On a terminal the bar is redrawn at most 10 times a second on one line
-- (step/total, percentage, rate, ETA, the given metrics); when output is not a
-- terminal (a log file, CI) it prints a plain line every `every` steps and at
-- the end.
local progress = {}
progress.__index = progress

local function isatty(file)
  if progress.force_tty ~= nil then return progress.force_tty end
  local ok, core = pcall(require, 'sslab.core')
  if ok and core.isatty then return core.isatty(file == io.stderr and 2 or 1) end
  return false
end

local function now()
  local ok, core = pcall(require, 'sslab.core')
  if ok and core.clock then return core.clock() end
  return os.time()
end

local function format_metrics(metrics)
  if not metrics then return '' end
  local keys = {}
  for k in pairs(metrics) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = metrics[k]
    if math.type(v) == 'float' then
      v = math.abs(v) >= 100 and string.format('%.0f', v) or string.format('%.4g', v)
    end
    parts[#parts + 1] = string.format('%s %s', k, tostring(v))
  end
  return table.concat(parts, '  ')
end

local function format_time(seconds)
  if seconds ~= seconds or seconds == math.huge then return '?' end
  seconds = math.floor(seconds + 0.5)
  if seconds >= 3600 then
    return string.format('%d:%02d:%02d', seconds // 3600, seconds % 3600 // 60, seconds % 60)
  end
  return string.format('%d:%02d', seconds // 60, seconds % 60)
end
progress.format_time = format_time

function progress.new(opts)
  local self = setmetatable({}, progress)
  self.total = opts.total
  self.label = opts.label or ''
  self.out = opts.out or io.stdout
  self.tty = opts.tty
  if self.tty == nil then self.tty = isatty(self.out) end
  self.every = opts.every or math.max(1, (opts.total or 10) // 10)
  self.start = now()
  self.last_draw = -1
  self.width = opts.width or 24
  return self
end

function progress:line(step, metrics, final)
  local elapsed = now() - self.start
  local rate = step > 0 and elapsed > 0 and step / elapsed or 0
  local eta = rate > 0 and self.total and (self.total - step) / rate or math.huge
  local head
  if self.total then
    local frac = math.min(1, step / self.total)
    if self.tty then
      local filled = math.floor(frac * self.width + 0.5)
      head = string.format('%s [%s%s] %d/%d', self.label, string.rep('=', filled), string.rep(' ', self.width - filled),
        step, self.total)
    else
      head = string.format('%s %d/%d (%3.0f%%)', self.label, step, self.total, frac * 100)
    end
  else
    head = string.format('%s %d', self.label, step)
  end
  local timing = final and string.format('%s elapsed', format_time(elapsed))
    or string.format('ETA %s', format_time(eta))
  return string.format('%s  %s  %s', head, format_metrics(metrics), timing)
end

--- Report progress at `step` (1-based) with a table of metrics.
function progress:update(step, metrics)
  if self.tty then
    local t = now()
    if t - self.last_draw < 0.1 and step ~= self.total then return end
    self.last_draw = t
    self.out:write('\r\27[K', self:line(step, metrics))
    self.out:flush()
  elseif step % self.every == 0 and step ~= self.total then
    self.out:write(self:line(step, metrics), '\n')
    self.out:flush()
  end
end

--- Final line for this bar.
function progress:finish(metrics, step)
  step = step or self.total or 0
  if self.tty then self.out:write('\r\27[K') end
  self.out:write(self:line(step, metrics, true), '\n')
  self.out:flush()
end

return progress
