-- test_aug.lua - sslab.aug: op constructors and their validation, compose with
-- C ops and Lua steps, two_views, presets and their overrides.
local lu = require 'luaunit'
local sslab = require 'sslab'
local aug = sslab.aug

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  lu.assertFalse(ok, 'expected an error')
  return tostring(e)
end

local function ops_of(p)
  local names = {}
  for i, s in ipairs(p.steps) do names[i] = s.op end
  return names
end

local function img(c, h, w)
  return sslab.data.synthetic{n = 1, size = h, seed = 1}:get(1):narrow(1, 1, c):narrow(3, 1, w)
end

TestAug = {}

function TestAug:test_validation_errors()
  lu.assertStrContains(err_of(aug.random_resized_crop, 0), 'size')
  lu.assertStrContains(err_of(aug.random_resized_crop, 32, {scale = {0.5, 0.2}}), 'scale')
  lu.assertStrContains(err_of(aug.random_resized_crop, 32, {scale = {0, 1}}), 'scale')
  lu.assertStrContains(err_of(aug.random_resized_crop, 32, {ratio = {2}}), 'ratio')
  lu.assertStrContains(err_of(aug.random_resized_crop, 32, {area = {0.2, 1}}), "unknown option 'area'")
  lu.assertStrContains(err_of(aug.hflip, {p = 1.5}), 'p = 1.5 outside [0, 1]')
  lu.assertStrContains(err_of(aug.color_jitter, {hue = 0.7}), 'hue = 0.7 outside [0, 0.5]')
  lu.assertStrContains(err_of(aug.color_jitter, {brightness = -1}), 'brightness')
  lu.assertStrContains(err_of(aug.color_jitter, {brightnes = 0.4}), "unknown option 'brightnes'")
  lu.assertStrContains(err_of(aug.gaussian_blur, {kernel = 4}), 'kernel')
  lu.assertStrContains(err_of(aug.gaussian_blur, {sigma = {0, 2}}), 'sigma')
  lu.assertStrContains(err_of(aug.grayscale, {p = -0.1}), 'p = ')
  lu.assertStrContains(err_of(aug.solarize, {threshold = 2}), 'threshold')
  lu.assertStrContains(err_of(aug.normalize, {std = {1, 0, 1}}), 'std[2] is 0')
  lu.assertStrContains(err_of(aug.normalize, {mean = {1, 2}}), 'mean')
  lu.assertStrContains(err_of(aug.compose, {aug.hflip(), 42}), 'step 2')
  lu.assertStrContains(err_of(aug.preset, 'byol'), "unknown preset 'byol'")
  lu.assertStrContains(err_of(aug.preset, 'mocov2', {blurr = true}), "unknown option 'blurr'")
  -- an op that does not fit the image: the C check names the op
  lu.assertStrContains(err_of(function() return aug.compose{aug.center_crop(40)}:apply(img(3, 32, 32)) end),
                       'center_crop')
end

function TestAug:test_simclr_jitter_strength()
  local j = aug.simclr_jitter(0.5)
  lu.assertEquals(j.op, 'color_jitter')
  lu.assertAlmostEquals(j.brightness, 0.4, 1e-12)
  lu.assertAlmostEquals(j.saturation, 0.4, 1e-12)
  lu.assertAlmostEquals(j.hue, 0.1, 1e-12)
  lu.assertEquals(j.p, 0.8)
end

function TestAug:test_presets_contents()
  local v2 = aug.preset('mocov2', {size = 32})
  lu.assertEquals(ops_of(v2), {'random_resized_crop', 'color_jitter', 'grayscale', 'gaussian_blur', 'hflip',
                               'to_float', 'normalize'})
  lu.assertEquals(v2.steps[1].scale, {0.2, 1})
  lu.assertEquals(v2.steps[1].size, {32, 32})
  lu.assertEquals({v2.steps[2].brightness, v2.steps[2].contrast, v2.steps[2].saturation, v2.steps[2].hue,
                   v2.steps[2].p}, {0.4, 0.4, 0.4, 0.1, 0.8})
  lu.assertEquals(v2.steps[3].p, 0.2)
  lu.assertEquals(v2.steps[4].sigma, {0.1, 2})
  lu.assertEquals(v2.steps[4].p, 0.5)
  lu.assertEquals(v2.steps[5].p, 0.5)
  lu.assertTrue(v2.pure_c)

  local v1 = aug.preset('mocov1')
  lu.assertEquals(ops_of(v1), {'random_resized_crop', 'grayscale', 'color_jitter', 'hflip', 'to_float', 'normalize'})
  lu.assertEquals(v1.steps[1].size, {224, 224})
  lu.assertEquals({v1.steps[3].brightness, v1.steps[3].hue, v1.steps[3].p}, {0.4, 0.4, 1})

  local sc = aug.preset('simclr', {size = 32, strength = 0.5, blur = false})
  lu.assertEquals(ops_of(sc), {'random_resized_crop', 'hflip', 'color_jitter', 'grayscale', 'to_float', 'normalize'})
  lu.assertEquals(sc.steps[1].scale, {0.08, 1})
  lu.assertAlmostEquals(sc.steps[3].brightness, 0.4, 1e-12)
  lu.assertAlmostEquals(sc.steps[3].hue, 0.1, 1e-12)
  lu.assertEquals(sc.steps[3].p, 0.8)
  lu.assertEquals(sc.steps[4].p, 0.2)

  lu.assertEquals(ops_of(aug.preset('none')), {'to_float', 'normalize'})
  lu.assertEquals(ops_of(aug.preset('none', {size = 32, normalize = false})), {'resize', 'center_crop', 'to_float'})
end

function TestAug:test_preset_overrides_sweep()
  local p = aug.preset('mocov2', {size = 32, scale = {0.08, 1}, jitter = {0.8, 0.8, 0.8, 0.2}, jitter_p = 1,
                                  grayscale = 0, blur = false, flip = false, mean = {0.5, 0.5, 0.5},
                                  std = {0.2, 0.2, 0.2}})
  lu.assertEquals(ops_of(p), {'random_resized_crop', 'color_jitter', 'to_float', 'normalize'})
  lu.assertEquals(p.steps[1].scale, {0.08, 1})
  lu.assertEquals(p.steps[2].brightness, 0.8)
  lu.assertEquals(p.steps[2].p, 1)
  lu.assertEquals(p.steps[4].mean, {0.5, 0.5, 0.5})
  local s = aug.preset('mocov2', {strength = 1.5})
  lu.assertAlmostEquals(s.steps[2].brightness, 1.2, 1e-12)
  lu.assertAlmostEquals(s.steps[2].hue, 0.3, 1e-12)
  local m1 = aug.preset('mocov1', {blur = true, solarize = 0.2})
  lu.assertEquals(ops_of(m1), {'random_resized_crop', 'grayscale', 'color_jitter', 'hflip', 'gaussian_blur',
                               'solarize', 'to_float', 'normalize'})
  lu.assertEquals(m1.settings.solarize, 0.2)
end

function TestAug:test_apply_shapes_determinism_and_grey()
  local p = aug.preset('mocov2', {size = 24})
  local x = img(3, 32, 32)
  local a = p:apply(x, sslab.Generator(5))
  local b = p:apply(x, sslab.Generator(5))
  local c = p:apply(x, sslab.Generator(6))
  lu.assertEquals(a:shape(), {3, 24, 24})
  lu.assertEquals(a:dtype(), 'float32')
  lu.assertEquals(a:to_string(), b:to_string())
  lu.assertNotEquals(a:to_string(), c:to_string())
  -- one generator, two calls: two different views
  local g = sslab.Generator(5)
  local v1, v2 = aug.two_views(p):apply(x, g)
  lu.assertEquals(v1:to_string(), a:to_string())
  lu.assertNotEquals(v1:to_string(), v2:to_string())
  -- grey input: colour ops pass through, channels stay 1 (or 3 on request)
  local grey = img(1, 32, 32)
  local gp = aug.preset('mocov2', {size = 16, mean = {0.5}, std = {0.5}})
  lu.assertEquals(gp:apply(grey, sslab.Generator(1)):shape(), {1, 16, 16})
  local rgb = gp:apply(grey, sslab.Generator(1), 3)
  lu.assertEquals(rgb:shape(), {3, 16, 16})
  lu.assertEquals(rgb[1]:to_string(), rgb[3]:to_string())
  -- a 2-d [H x W] image is one grey channel
  lu.assertEquals(aug.compose{}:apply(grey[1]):shape(), {1, 32, 32})
end

function TestAug:test_to_float_normalize_and_zero_jitter()
  local x = sslab.full({3, 2, 2}, 51, 'uint8')
  local f = aug.compose{aug.to_float()}:apply(x)
  lu.assertAlmostEquals(f[1][1][1], 0.2, 1e-6)
  local n = aug.compose{aug.normalize{mean = {0.1, 0.2, 0.3}, std = {0.5, 0.5, 0.5}}}:apply(x)
  lu.assertAlmostEquals(n[2][2][2], 0.0, 1e-6)
  lu.assertAlmostEquals(n[3][1][1], -0.2, 1e-6)
  local y = img(3, 16, 16)
  local zero = aug.compose{aug.color_jitter{p = 1}}:apply(y, sslab.Generator(2))
  lu.assertEquals(zero:to_string(), aug.compose{}:apply(y):to_string())
  local flipped = aug.compose{aug.hflip{p = 1}}:apply(y)
  lu.assertAlmostEquals(flipped[2][3][1], y[2][3][16] / 255, 1e-6)
  local sol = aug.compose{aug.solarize{threshold = 0}}:apply(sslab.full({1, 1, 1}, 255, 'uint8'))
  lu.assertEquals(sol[1][1][1], 0)
end

function TestAug:test_lua_steps()
  local seen = {}
  local function brighten(x, gen)
    seen.dtype, seen.gen = x:dtype(), gen
    return x * 0 + 0.5
  end
  local obj = {apply = function(self, x) return x + 0.25 end}
  local p = aug.compose{aug.center_crop(8), brighten, obj, aug.hflip{p = 1}}
  lu.assertFalse(p.pure_c)
  lu.assertNil(p:c_ops())
  local g = sslab.Generator(1)
  local out = p:apply(img(3, 16, 16), g)
  lu.assertEquals(seen.dtype, 'float32')
  lu.assertEquals(seen.gen, g)
  lu.assertEquals(out:shape(), {3, 8, 8})
  lu.assertEquals(out[1][1][1], 0.75)
  -- a Lua step first sees the uint8 image as float in [0, 1]
  local first = aug.compose{function(x) return x end}:apply(sslab.full({1, 1, 1}, 255, 'uint8'))
  lu.assertEquals(first[1][1][1], 1)
  lu.assertStrContains(err_of(function() return aug.compose{function() return 1 end}:apply(img(3, 8, 8)) end),
                       'not a tensor')
  -- nested pipelines are inlined
  lu.assertEquals(#aug.compose{aug.compose{aug.hflip(), aug.grayscale()}, aug.to_float()}, 3)
end

os.exit(lu.LuaUnit.run())
