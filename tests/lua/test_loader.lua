-- test_loader.lua - sslab.data.loader: batch format, 1-based labels/indices,
-- independence from the worker count, resuming, the Lua fallback, worker errors.
local here = (arg and arg[0] or ''):match('^(.*)/[^/]*$') or '.'
package.path = here .. '/?.lua;' .. package.path
local lu = require 'luaunit'
local sslab = require 'sslab'
local U = require 'data_testutil'
local data, aug = sslab.data, sslab.aug

local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  lu.assertFalse(ok, 'expected an error')
  return tostring(e)
end

-- every batch of epoch e (from batch start) as strings, for exact comparisons
local function epoch_bytes(loader, e, start)
  local out = {}
  for b in loader:epoch(e, start) do
    local parts = {}
    for v, t in ipairs(b.views) do parts[v] = t:to_string() end
    parts[#parts + 1] = b.labels and b.labels:to_string() or 'nil'
    parts[#parts + 1] = b.indices:to_string()
    out[#out + 1] = table.concat(parts, '|')
  end
  return out
end

local function two_view_transform(size)
  return aug.two_views(aug.preset('mocov2', {size = size}))
end

TestLoader = {}

function TestLoader:setUp() self.ds = data.synthetic{n = 22, size = 16, seed = 5} end

function TestLoader:test_batch_format()
  local l = data.loader(self.ds, {batch = 4, transform = two_view_transform(12), workers = 2, seed = 1})
  lu.assertEquals(l.mode, 'c')
  lu.assertEquals(l:batches_per_epoch(), 5) -- 22 // 4, drop_last
  local count, seen = 0, {}
  for b in l:epoch(1) do
    count = count + 1
    lu.assertEquals(b.number, count)
    lu.assertEquals(#b.views, 2)
    lu.assertEquals(b.views[1]:shape(), {4, 3, 12, 12})
    lu.assertEquals(b.views[1]:dtype(), 'float32')
    lu.assertNotEquals(b.views[1]:to_string(), b.views[2]:to_string())
    lu.assertEquals(b.labels:dtype(), 'int64')
    lu.assertEquals(b.indices:dtype(), 'int64')
    for k = 1, 4 do
      local i = b.indices[k]
      lu.assertTrue(i >= 1 and i <= 22)
      lu.assertNil(seen[i])
      seen[i] = true
      lu.assertEquals(b.labels[k], select(2, self.ds:get(i))) -- 1-based, as ds:get
    end
  end
  lu.assertEquals(count, 5)
  -- no shuffle, keep the last short batch
  local l2 = data.loader(self.ds, {batch = 8, shuffle = false, drop_last = false, workers = 1})
  local sizes, first = {}, nil
  for b in l2:epoch(3) do
    sizes[#sizes + 1] = b.size
    first = first or b.indices:totable()
    lu.assertEquals(b.views[1]:size(1), b.size)
    lu.assertEquals(b.views[2], nil)
  end
  lu.assertEquals(sizes, {8, 8, 6})
  lu.assertEquals(first, {1, 2, 3, 4, 5, 6, 7, 8})
end

function TestLoader:test_same_batches_for_any_worker_count()
  local ref
  for _, w in ipairs{0, 1, 2} do
    local l = data.loader(self.ds, {batch = 5, transform = two_view_transform(8), workers = w, seed = 9, prefetch = 3})
    local got = epoch_bytes(l, 2)
    lu.assertEquals(#got, 4)
    if ref then lu.assertEquals(got, ref) else ref = got end
    l:close()
  end
  -- another epoch or seed gives other batches
  local l = data.loader(self.ds, {batch = 5, transform = two_view_transform(8), workers = 2, seed = 9})
  lu.assertNotEquals(epoch_bytes(l, 3), ref)
end

function TestLoader:test_resume_equals_tail_of_full_epoch()
  local l = data.loader(self.ds, {batch = 3, transform = two_view_transform(8), workers = 2, seed = 4})
  local full = epoch_bytes(l, 7)
  local tail = epoch_bytes(l, 7, 4)
  lu.assertEquals(#tail, #full - 3)
  for k = 1, #tail do lu.assertEquals(tail[k], full[k + 3]) end
  local n = 0
  for b in l:epoch(7, {start = 7}) do n = n + 1; lu.assertEquals(b.number, 7) end
  lu.assertEquals(n, 1)
  lu.assertStrContains(err_of(l.epoch, l, 7, 9), 'out of range')
end

function TestLoader:test_kept_batches_stay_valid()
  local l = data.loader(self.ds, {batch = 2, transform = two_view_transform(8), workers = 2, seed = 1, prefetch = 2})
  local kept, copies = {}, {}
  for b in l:epoch(1) do
    kept[#kept + 1] = b
    copies[#copies + 1] = b.views[1]:to_string() .. b.indices:to_string()
  end
  collectgarbage()
  for k, b in ipairs(kept) do lu.assertEquals(b.views[1]:to_string() .. b.indices:to_string(), copies[k]) end
end

function TestLoader:test_lua_dataset_falls_back_with_same_batches()
  local c_ds = self.ds
  local lua_ds = setmetatable({}, {__len = function() return #c_ds end,
                                   __index = {get = function(_, i) return c_ds:get(i) end}})
  local t = two_view_transform(8)
  local a = data.loader(c_ds, {batch = 5, transform = t, workers = 2, seed = 3})
  local b = data.loader(lua_ds, {batch = 5, transform = t, seed = 3})
  lu.assertEquals(b.mode, 'lua')
  lu.assertEquals(epoch_bytes(b, 1), epoch_bytes(a, 1))
  lu.assertEquals(epoch_bytes(b, 1, 3), epoch_bytes(a, 1, 3))
  -- an unlabelled Lua dataset of float images
  local floats = {get = function(_, i) return sslab.full({1, 6, 6}, i / 100) end}
  setmetatable(floats, {__len = function() return 7 end})
  local l = data.loader(floats, {batch = 3, shuffle = false, channels = 3})
  for bt in l:epoch(1) do
    lu.assertNil(bt.labels)
    lu.assertEquals(bt.views[1]:shape(), {3, 3, 6, 6})
    lu.assertAlmostEquals(bt.views[1][2][3][1][1], bt.indices[2] / 100, 1e-6)
  end
end

function TestLoader:test_lua_step_in_transform_falls_back()
  local calls = 0
  local p = aug.compose{aug.random_resized_crop(8), function(x, gen)
    calls = calls + 1
    return 1 - x
  end, aug.hflip()}
  local l = data.loader(self.ds, {batch = 4, transform = aug.two_views(p), workers = 2, seed = 2})
  lu.assertEquals(l.mode, 'lua')
  local n = 0
  for b in l:epoch(1) do
    n = n + 1
    lu.assertEquals(b.views[2]:shape(), {4, 3, 8, 8})
    lu.assertEquals(b.labels[1], select(2, self.ds:get(b.indices[1])))
  end
  lu.assertEquals(n, 5)
  lu.assertEquals(calls, 2 * 5 * 4)
end

function TestLoader:test_worker_error_reaches_lua_with_the_file_name()
  local dir, cleanup = U.tmpdir()
  U.image_folder(dir, {'a', 'b'}, 3, {'png'})
  local bad = dir .. '/b/img02.png'
  U.write(bad, U.read(bad):sub(1, 60)) -- truncated PNG
  local ds = assert(data.image_folder{root = dir})
  local t = aug.compose{aug.random_resized_crop(8)}
  for _, w in ipairs{0, 2} do
    local l = data.loader(ds, {batch = 2, transform = t, workers = w, shuffle = false, drop_last = false})
    local e = err_of(function() for _ in l:epoch(1) do end end)
    lu.assertStrContains(e, bad)
    l:close()
  end
  cleanup()
end

function TestLoader:test_grey_images_and_options()
  local x = sslab.zeros(6, 10, 10):byte()
  local ds = data.tensors(x, nil)
  local l = data.loader(ds, {batch = 3, transform = aug.preset('mocov2', {size = 8, mean = {0.5}, std = {0.5}}),
                             channels = 3, workers = 1})
  for b in l:epoch(1) do
    lu.assertEquals(b.views[1]:shape(), {3, 3, 8, 8})
    lu.assertNil(b.labels)
  end
  lu.assertStrContains(err_of(data.loader, ds, {batch = 0}), 'batch')
  lu.assertStrContains(err_of(data.loader, ds, {batch = 2, worker = 2}), "unknown option 'worker'")
  lu.assertStrContains(err_of(data.loader, ds, {batch = 7}), 'no full batch')
end

os.exit(lu.LuaUnit.run())
