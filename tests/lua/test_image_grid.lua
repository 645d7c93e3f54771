-- test_image_grid.lua - sslab.image.grid (previews) and a PNG/JPEG round trip of a grid.
local lu = require 'luaunit'
local sslab = require 'sslab'

TestGrid = {}

function TestGrid:test_shape_dtype_and_placement()
  local a = sslab.full({3, 4, 5}, 200, 'uint8')
  local g = sslab.image.grid({a, a, a}, {nrow = 2, pad = 1})
  lu.assertEquals(g:dtype(), 'uint8')
  lu.assertEquals(g:shape(), {3, 2 * (4 + 1) + 1, 2 * (5 + 1) + 1})
  lu.assertEquals(g[1][1][1], 0)        -- padding
  lu.assertEquals(g[2][2][2], 200)      -- first image
  lu.assertEquals(g[1][7][8], 0)        -- the empty 4th cell
  -- grey promoted to RGB, float wins over uint8, pad value, [H x W] images
  local grey = sslab.full({1, 3, 3}, 0.5)
  local g2 = sslab.image.grid({grey, sslab.full({3, 3}, 255, 'uint8')}, {pad = 2, value = 1})
  lu.assertEquals(g2:dtype(), 'float32')
  lu.assertEquals(g2:shape(), {3, 3 + 4, 2 * 3 + 6})
  lu.assertEquals(g2[3][3][3], 0.5)
  lu.assertEquals(g2[1][3][8], 1)
  lu.assertEquals(g2[2][1][1], 1)
  -- a batch tensor, and undoing a normalisation
  local batch = sslab.zeros(5, 3, 2, 2)
  local g3 = sslab.image.grid(batch, {nrow = 5, pad = 0, mean = {0.5, 0.5, 0.5}, std = {0.2, 0.2, 0.2}})
  lu.assertEquals(g3:shape(), {3, 2, 10})
  lu.assertAlmostEquals(g3[1][1][1], 0.5, 1e-6)
  lu.assertFalse(pcall(sslab.image.grid, {}))
  lu.assertFalse(pcall(sslab.image.grid, {a}, {rows = 2}))
end

function TestGrid:test_png_and_jpeg_round_trip()
  local base = os.tmpname()
  local ds = sslab.data.synthetic{n = 4, size = 16}
  local imgs = {}
  for i = 1, 4 do imgs[i] = ds:get(i) end
  local g = sslab.image.grid(imgs, {nrow = 2})
  lu.assertTrue(sslab.image.save(base .. '.png', g) ~= false)
  local back = sslab.image.load(base .. '.png')
  lu.assertEquals(back:to_string(), g:to_string())
  sslab.image.save(base .. '.jpg', g:float() / 255, {quality = 95})
  local j = sslab.image.load(base .. '.jpg')
  lu.assertEquals(j:shape(), g:shape())
  lu.assertTrue((j:float() - g:float()):abs():mean() < 8)
  os.remove(base .. '.png'); os.remove(base .. '.jpg'); os.remove(base)
  local none, msg = sslab.image.load(base .. '.missing.png')
  lu.assertNil(none)
  lu.assertStrContains(msg, base .. '.missing.png')
end

os.exit(lu.LuaUnit.run())
