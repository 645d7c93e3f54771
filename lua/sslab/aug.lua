-- sslab.aug: image augmentations for contrastive learning.
--
--   local aug = sslab.aug
--   local p = aug.compose{
--     aug.random_resized_crop(32, {scale = {0.2, 1}}),
--     aug.color_jitter{brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1, p = 0.8},
--     aug.grayscale{p = 0.2},
--     aug.hflip{p = 0.5},
--     aug.normalize{mean = {0.5, 0.5, 0.5}, std = {0.25, 0.25, 0.25}},
--   }
--   local view = p:apply(img_uint8)                  -- float32 [3 x 32 x 32]
--   local t = aug.two_views(aug.preset('mocov2', {size = 32}))
--   local v1, v2 = t:apply(img_uint8, sslab.Generator(7))
--
-- Each op is a plain table describing one C kernel of runtime/aug (e.g.
-- {op = 'hflip', p = 0.5}); compose compiles runs of them into C pipelines
-- (core._aug.compile), which the data loader's worker threads run without
-- Lua. A compose list may also hold Lua functions f(img, generator) -> img or
-- objects with an apply(self, img, generator) method: those steps run in
-- Lua, on float images in [0, 1], and make the loader fall back to its Lua
-- loop. Semantics follow torchvision (see runtime/aug/aug.h for the
-- documented differences).
local core = require 'sslab.core'
local C = core._aug

local aug = {}

aug.IMAGENET_MEAN = {0.485, 0.456, 0.406}
aug.IMAGENET_STD = {0.229, 0.224, 0.225}

-- {===== op descriptions ===================================================

local Op = {}
Op.__index = Op
aug.Op = Op

local function fmt_value(v)
  if type(v) == 'table' then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = fmt_value(x) end
    return '{' .. table.concat(parts, ', ') .. '}'
  elseif math.type(v) == 'float' then
    return string.format('%.4g', v)
  end
  return tostring(v)
end

function Op.__tostring(self)
  local keys = {}
  for k in pairs(self) do if k ~= 'op' then keys[#keys + 1] = k end end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. '=' .. fmt_value(self[k]) end
  return self.op .. '{' .. table.concat(parts, ', ') .. '}'
end

--- op:apply(img[, generator]): this op alone, as a one-step pipeline.
function Op:apply(img, gen) return aug.compose{self}:apply(img, gen) end

local function new_op(t) return setmetatable(t, Op) end

local function fail(name, fmt, ...) error(string.format('aug.%s: ' .. fmt, name, ...), 3) end

-- opts must be nil or a table whose keys are all in `allowed`.
local function check_opts(name, opts, allowed)
  if opts == nil then return {} end
  if type(opts) ~= 'table' then fail(name, 'options must be a table, got %s', type(opts)) end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for a in pairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      fail(name, "unknown option '%s' (valid: %s)", tostring(k), table.concat(names, ', '))
    end
  end
  return opts
end

local function set(...)
  local s = {}
  for _, k in ipairs{...} do s[k] = true end
  return s
end

local function check_number(name, key, v, lo, hi)
  if type(v) ~= 'number' or v ~= v then fail(name, '%s must be a number, got %s', key, tostring(v)) end
  if (lo and v < lo) or (hi and v > hi) then
    fail(name, '%s = %s outside [%s, %s]', key, fmt_value(v), lo and fmt_value(lo) or '-inf', hi and fmt_value(hi) or 'inf')
  end
  return v
end

local function check_p(name, p, def)
  if p == nil then return def end
  return check_number(name, 'p', p, 0, 1)
end

-- {min, max} with 0 < min <= max (positive = true) or 0 <= min <= max.
local function check_range(name, key, v, def, positive)
  if v == nil then return {def[1], def[2]} end
  if type(v) == 'number' then v = {v, v} end
  if type(v) ~= 'table' or #v ~= 2 or type(v[1]) ~= 'number' or type(v[2]) ~= 'number' then
    fail(name, '%s must be {min, max}, got %s', key, fmt_value(v))
  end
  if not ((positive and v[1] > 0 or not positive and v[1] >= 0) and v[1] <= v[2]) then
    fail(name, '%s {%s, %s} needs %s min <= max', key, fmt_value(v[1]), fmt_value(v[2]), positive and '0 <' or '0 <=')
  end
  return {v[1], v[2]}
end

local function check_size(name, size, allow_short)
  if type(size) == 'number' then
    if math.type(size) ~= 'integer' and size ~= math.floor(size) or size < 1 then
      fail(name, 'size must be a positive integer, got %s', fmt_value(size))
    end
    return allow_short and math.tointeger(size) or {math.tointeger(size), math.tointeger(size)}
  end
  if type(size) ~= 'table' or #size ~= 2 then fail(name, 'size must be a number or {height, width}, got %s', fmt_value(size)) end
  for i = 1, 2 do
    if type(size[i]) ~= 'number' or size[i] < 1 or size[i] ~= math.floor(size[i]) then
      fail(name, 'size must hold positive integers, got %s', fmt_value(size))
    end
  end
  return {math.tointeger(size[1]), math.tointeger(size[2])}
end

--- aug.random_resized_crop(size, {scale = {0.08, 1}, ratio = {3/4, 4/3}}): a random
-- area fraction in `scale` and log-uniform aspect ratio in `ratio`, resized to size
-- (a number or {height, width}) bilinearly. torchvision RandomResizedCrop.
function aug.random_resized_crop(size, opts)
  opts = check_opts('random_resized_crop', opts, set('scale', 'ratio'))
  return new_op{op = 'random_resized_crop', size = check_size('random_resized_crop', size),
                scale = check_range('random_resized_crop', 'scale', opts.scale, {0.08, 1}, true),
                ratio = check_range('random_resized_crop', 'ratio', opts.ratio, {3 / 4, 4 / 3}, true)}
end

--- aug.resize(size): a number resizes the smaller side to it (keeping the aspect);
-- {height, width} resizes to exactly that. Bilinear, no antialiasing.
function aug.resize(size)
  return new_op{op = 'resize', size = check_size('resize', size, true)}
end

--- aug.center_crop(size): the central size x size (or {height, width}) crop.
function aug.center_crop(size)
  return new_op{op = 'center_crop', size = check_size('center_crop', size)}
end

--- aug.hflip{p = 0.5} (or aug.hflip(p)): mirror left-right with probability p.
function aug.hflip(opts)
  if type(opts) == 'number' then opts = {p = opts} end
  opts = check_opts('hflip', opts, set('p'))
  return new_op{op = 'hflip', p = check_p('hflip', opts.p, 0.5)}
end

--- aug.color_jitter{brightness, contrast, saturation, hue, p = 1}: torchvision
-- ColorJitter (factors uniform in [max(0, 1 - s), 1 + s], hue in [-h, h], the four in a
-- random order), applied with probability p (RandomApply). Zero strengths are skipped.
-- No effect of saturation and hue on grey images.
function aug.color_jitter(opts)
  opts = check_opts('color_jitter', opts, set('brightness', 'contrast', 'saturation', 'hue', 'p'))
  local t = {op = 'color_jitter', p = check_p('color_jitter', opts.p, 1)}
  for _, k in ipairs{'brightness', 'contrast', 'saturation'} do
    t[k] = check_number('color_jitter', k, opts[k] or 0, 0)
  end
  t.hue = check_number('color_jitter', 'hue', opts.hue or 0, 0, 0.5)
  return new_op(t)
end

--- aug.simclr_jitter(s[, p = 0.8]): SimCLR's colour distortion of strength s:
-- color_jitter{0.8s, 0.8s, 0.8s, 0.2s} with p 0.8.
function aug.simclr_jitter(s, p)
  check_number('simclr_jitter', 'strength', s, 0, 2.5)
  return aug.color_jitter{brightness = 0.8 * s, contrast = 0.8 * s, saturation = 0.8 * s, hue = 0.2 * s, p = p or 0.8}
end

--- aug.grayscale{p = 0.1}: RandomGrayscale (ITU-R 601 luma, 3 channels kept). No effect on grey images.
function aug.grayscale(opts)
  if type(opts) == 'number' then opts = {p = opts} end
  opts = check_opts('grayscale', opts, set('p'))
  return new_op{op = 'grayscale', p = check_p('grayscale', opts.p, 0.1)}
end

--- aug.gaussian_blur{sigma = {0.1, 2}, kernel = auto, p = 1}: Gaussian blur with sigma
-- uniform in the range; kernel (odd) defaults to about 10% of the image side, as SimCLR.
function aug.gaussian_blur(opts)
  opts = check_opts('gaussian_blur', opts, set('sigma', 'kernel', 'p'))
  local k = opts.kernel or 0
  if type(k) ~= 'number' or k < 0 or k ~= math.floor(k) or (k > 0 and k % 2 == 0) then
    fail('gaussian_blur', 'kernel must be an odd positive integer (or nil: ~10%% of the side), got %s', fmt_value(k))
  end
  return new_op{op = 'gaussian_blur', sigma = check_range('gaussian_blur', 'sigma', opts.sigma, {0.1, 2}, true),
                kernel = math.tointeger(k), p = check_p('gaussian_blur', opts.p, 1)}
end

--- aug.solarize{threshold = 0.5, p = 1}: x >= threshold becomes 1 - x.
function aug.solarize(opts)
  opts = check_opts('solarize', opts, set('threshold', 'p'))
  return new_op{op = 'solarize', threshold = check_number('solarize', 'threshold', opts.threshold or 0.5, 0, 1),
                p = check_p('solarize', opts.p, 1)}
end

--- aug.normalize{mean = ImageNet, std = ImageNet}: (x - mean) / std per channel (1 or 3 values).
-- Put it last: the colour ops expect values in [0, 1].
function aug.normalize(opts)
  opts = check_opts('normalize', opts, set('mean', 'std'))
  local function three(key, v, def)
    v = v or def
    if type(v) == 'number' then v = {v} end
    if type(v) ~= 'table' or (#v ~= 1 and #v ~= 3) then fail('normalize', '%s must be 1 or 3 numbers', key) end
    local out = {}
    for i, x in ipairs(v) do
      check_number('normalize', key, x)
      if key == 'std' and x == 0 then fail('normalize', 'std[%d] is 0', i) end
      out[i] = x
    end
    return out
  end
  return new_op{op = 'normalize', mean = three('mean', opts.mean, aug.IMAGENET_MEAN),
                std = three('std', opts.std, aug.IMAGENET_STD)}
end

--- aug.to_float(): uint8 0..255 -> float [0, 1] (every pipeline starts with it; a marker only).
function aug.to_float() return new_op{op = 'to_float'} end

-- }=========================================================================

-- {===== pipelines ==========================================================

local Pipeline = {}
Pipeline.__index = Pipeline
aug.Pipeline = Pipeline

local TwoViews = {}
TwoViews.__index = TwoViews
aug.TwoViews = TwoViews

local function is_op(x) return type(x) == 'table' and getmetatable(x) == Op or (type(x) == 'table' and type(x.op) == 'string') end

--- aug.compose(list): a pipeline from op tables, Lua functions f(img, gen) -> img,
-- objects with :apply(img, gen), and other pipelines (inlined).
function aug.compose(list)
  if getmetatable(list) == Pipeline then return list end
  if type(list) ~= 'table' then error('aug.compose: expects a list of steps, got ' .. type(list), 2) end
  local steps = {}
  local function add(x, where)
    if getmetatable(x) == Pipeline then
      for _, s in ipairs(x.steps) do steps[#steps + 1] = s end
    elseif is_op(x) or type(x) == 'function' or (type(x) == 'table' and x.apply) then
      steps[#steps + 1] = x
    else
      error(string.format('aug.compose: step %d is a %s, not an op, a function or an object with apply', where,
                          type(x)), 3)
    end
  end
  for i = 1, #list do add(list[i], i) end
  -- runs of op tables become one C pipeline each
  local segments, run = {}, nil
  for _, s in ipairs(steps) do
    if is_op(s) then
      if not run then run = {}; segments[#segments + 1] = {ops = run} end
      run[#run + 1] = s
    else
      run = nil
      segments[#segments + 1] = {fn = type(s) == 'function' and s or function(img, gen) return s:apply(img, gen) end}
    end
  end
  for _, seg in ipairs(segments) do
    if seg.ops then seg.compiled = C.compile(seg.ops) end
  end
  local p = setmetatable({steps = steps, segments = segments}, Pipeline)
  p.pure_c = #segments == 0 or (#segments == 1 and segments[1].compiled ~= nil)
  return p
end

--- pipeline:c_ops(): the compiled sslab.AugOps of a pure-C pipeline (nil otherwise).
function Pipeline:c_ops()
  if not self.pure_c then return nil end
  if #self.segments == 0 then
    self._empty = self._empty or C.compile({})
    return self._empty
  end
  return self.segments[1].compiled
end

local function to_float01(img)
  if img:dtype() == 'uint8' then return img:float() / 255 end
  return img
end

--- pipeline:apply(img[, generator][, channels]) -> float32 [C x H x W].
-- img: uint8 (0..255) or float32 in [0, 1], [C x H x W] or [H x W]. channels = 3
-- makes a grey result RGB (replicated).
function Pipeline:apply(img, gen, channels)
  local x = img
  for _, seg in ipairs(self.segments) do
    if seg.compiled then
      x = seg.compiled:apply(x, gen)
    else
      if x:dim() == 2 then x = x:view(1, x:size(1), x:size(2)) end
      x = seg.fn(to_float01(x), gen)
      if not core.is_tensor(x) then error('aug: a Lua step returned ' .. type(x) .. ', not a tensor', 2) end
    end
  end
  if x:dim() == 2 then x = x:view(1, x:size(1), x:size(2)) end
  if x:dtype() ~= 'float32' then x = to_float01(x) elseif rawequal(x, img) then x = x:clone() end
  if channels == 3 and x:size(1) == 1 then x = x:expand(3, x:size(2), x:size(3)):contiguous() end
  return x
end

function Pipeline:__len() return #self.steps end

function Pipeline:__tostring()
  local parts = {}
  for i, s in ipairs(self.steps) do parts[i] = '  ' .. (is_op(s) and tostring(s) or '<lua step>') end
  return 'aug.compose{\n' .. table.concat(parts, ',\n') .. '\n}'
end

--- aug.two_views(pipeline_a[, pipeline_b]): the two views of contrastive learning
-- (pipeline_b defaults to pipeline_a; both drawn from one generator per sample).
function aug.two_views(a, b)
  a = aug.compose(a)
  b = b and aug.compose(b) or a
  return setmetatable({a, b, pure_c = a.pure_c and b.pure_c}, TwoViews)
end

--- two:apply(img[, generator][, channels]) -> view1, view2
function TwoViews:apply(img, gen, channels)
  return self[1]:apply(img, gen, channels), self[2]:apply(img, gen, channels)
end

function TwoViews:__tostring() return 'aug.two_views(\n' .. tostring(self[1]) .. ',\n' .. tostring(self[2]) .. ')' end

-- }=========================================================================

-- {===== presets =============================================================

local preset_keys = set('size', 'scale', 'ratio', 'crop', 'flip', 'grayscale', 'jitter', 'jitter_p', 'strength',
                        'blur', 'blur_p', 'blur_sigma', 'blur_kernel', 'solarize', 'solarize_threshold',
                        'normalize', 'mean', 'std')

-- The published settings (see docs/data.md).
local preset_defaults = {
  -- MoCo v1 (main_moco.py): crop 0.2-1, grayscale 0.2, ColorJitter(0.4, 0.4, 0.4, 0.4), flip
  mocov1 = {scale = {0.2, 1}, grayscale = 0.2, jitter = {0.4, 0.4, 0.4, 0.4}, jitter_p = 1, blur = false,
            order = {'crop', 'grayscale', 'jitter', 'flip'}},
  -- MoCo v2 aug+: crop 0.2-1, jitter (.4,.4,.4,.1) p .8, grayscale .2, blur sigma .1-2 p .5, flip
  mocov2 = {scale = {0.2, 1}, jitter = {0.4, 0.4, 0.4, 0.1}, jitter_p = 0.8, grayscale = 0.2, blur = true,
            blur_p = 0.5, order = {'crop', 'jitter', 'grayscale', 'blur', 'flip'}},
  -- SimCLR: crop 0.08-1, flip, colour distortion of strength s (p .8), grayscale .2, blur p .5
  simclr = {scale = {0.08, 1}, strength = 1, jitter_p = 0.8, grayscale = 0.2, blur = true, blur_p = 0.5,
            order = {'crop', 'flip', 'jitter', 'grayscale', 'blur'}},
  none = {order = {}},
}

--- aug.preset(name, opts) -> pipeline. name: 'mocov2', 'mocov1', 'simclr' or 'none'.
-- opts (all optional; each overrides the published value, so a recipe can sweep it):
--   size (224), scale {min, max}, ratio {3/4, 4/3}, crop (false: resize + centre crop instead),
--   flip (p, 0.5; false = off), grayscale (p), jitter ({b, c, s, h} or a number x: {x, x, x, x};
--   false = off), strength (SimCLR strength s: jitter {0.8s, 0.8s, 0.8s, 0.2s}), jitter_p,
--   blur (true/false), blur_p, blur_sigma {min, max}, blur_kernel (odd; default ~10% of size),
--   solarize (p, default off), solarize_threshold (0.5), normalize (true; false = off), mean, std.
-- 'none' is to_float (+ normalize); with size it also resizes and centre-crops.
-- The result's .settings holds the resolved values (for logs).
function aug.preset(name, opts)
  local d = preset_defaults[name]
  if not d then
    error(string.format("aug.preset: unknown preset '%s' (mocov2, mocov1, simclr, none)", tostring(name)), 2)
  end
  opts = check_opts('preset', opts, preset_keys)
  local s = {}
  for k, v in pairs(d) do s[k] = v end
  for k, v in pairs(opts) do s[k] = v end
  if opts.strength ~= nil and opts.jitter == nil then s.jitter = nil end
  if opts.jitter ~= nil and opts.strength == nil then s.strength = nil end
  if name == 'none' then
    s.crop = opts.size ~= nil and 'center' or false
  else
    s.size = s.size or 224
    if s.crop == nil then s.crop = true end
    s.flip = s.flip == nil and 0.5 or s.flip
    s.solarize = s.solarize or false
  end
  if s.normalize == nil then s.normalize = true end

  local steps = {}
  local function add(x) steps[#steps + 1] = x end
  local builders = {
    crop = function()
      if s.crop == true then
        add(aug.random_resized_crop(s.size, {scale = s.scale, ratio = s.ratio}))
      elseif s.size then
        add(aug.resize(s.size))
        add(aug.center_crop(s.size))
      end
    end,
    flip = function() if s.flip then add(aug.hflip{p = s.flip == true and 0.5 or s.flip}) end end,
    grayscale = function() if s.grayscale and s.grayscale ~= 0 then add(aug.grayscale{p = s.grayscale}) end end,
    jitter = function()
      if s.strength then
        add(aug.simclr_jitter(s.strength, s.jitter_p))
      elseif s.jitter then
        local j = type(s.jitter) == 'number' and {s.jitter, s.jitter, s.jitter, s.jitter} or s.jitter
        if type(j) ~= 'table' or #j ~= 4 then error('aug.preset: jitter must be {b, c, s, h}, a number or false', 4) end
        add(aug.color_jitter{brightness = j[1], contrast = j[2], saturation = j[3], hue = j[4], p = s.jitter_p})
      end
    end,
    blur = function()
      if s.blur then add(aug.gaussian_blur{sigma = s.blur_sigma, kernel = s.blur_kernel, p = s.blur_p}) end
    end,
  }
  if name == 'none' then builders.crop() end
  for _, what in ipairs(d.order) do builders[what]() end
  -- a blur/solarize asked for on a preset that has none goes after the colour ops
  if name ~= 'none' then
    local has_blur = false
    for _, what in ipairs(d.order) do has_blur = has_blur or what == 'blur' end
    if not has_blur and s.blur then builders.blur() end
    if s.solarize then add(aug.solarize{threshold = s.solarize_threshold, p = s.solarize == true and 1 or s.solarize}) end
  end
  add(aug.to_float())
  if s.normalize then add(aug.normalize{mean = s.mean, std = s.std}) end
  local p = aug.compose(steps)
  s.order = nil
  p.name, p.settings = name, s
  return p
end

-- }=========================================================================

return aug
