-- sslab.plot: PNG and SVG figures with real text, errors for bad input.
local lu = require 'luaunit'
local sslab = require 'sslab'
local plot = require 'sslab.plot'

local tmp = os.tmpname()
os.remove(tmp)
local png, svg = tmp .. '.png', tmp .. '.svg'

local function read(path)
  local f = assert(io.open(path, 'rb'))
  local data = f:read('a')
  f:close()
  return data
end

function test_png_two_panels()
  local losses, knn = {}, {}
  for e = 1, 20 do losses[e] = 5 / e + 0.1; knn[e] = 30 + 2.5 * e end
  plot.save(png, {title = 'run', width = 900, height = 400, panels = {
    {title = 'loss', xlabel = 'epoch', ylabel = 'InfoNCE', series = {{y = losses, label = 'train'}}},
    {title = 'kNN', xlabel = 'epoch', ylabel = '%', ylim = {0, 100},
     series = {{x = sslab.arange(1, 21):float(), y = sslab.tensor(knn), label = 'kNN top-1', style = 'both'}}}}})
  local data = read(png)
  lu.assertEquals(data:sub(1, 8), '\137PNG\r\n\26\n')
  -- width and height in the IHDR chunk
  local w = string.unpack('>I4', data, 17)
  local h = string.unpack('>I4', data, 21)
  lu.assertEquals({w, h}, {900, 400})
  local img = sslab.image and sslab.image.load and sslab.image.load(png)
  if img then -- not blank: the plot drew dark pixels (text, axes, lines)
    lu.assertTrue(img:float():min() < 100)
  end
  os.remove(png)
end

function test_svg_has_text()
  plot.line(svg, {y = {3, 1, 2}, xlabel = 'step', ylabel = 'loss', title = 'curve', label = 'loss'})
  local data = read(svg)
  lu.assertStrContains(data, '<svg')
  lu.assertStrContains(data, 'glyph') -- cairo embeds the glyphs of the labels
  os.remove(svg)
end

function test_scatter()
  local pts = sslab.randn(30, 2)
  local labels = sslab.randint(1, 4, {30})
  plot.scatter(png, pts, labels, {classes = {'a', 'b', 'c'}, title = 'scatter'})
  lu.assertEquals(read(png):sub(2, 4), 'PNG')
  os.remove(png)
end

function test_errors()
  lu.assertErrorMsgContains('unknown format', plot.line, tmp .. '.bmp', {y = {1, 2}})
  lu.assertErrorMsgContains('2 x values but 3 y values', plot.line, png, {x = {1, 2}, y = {1, 2, 3}})
  lu.assertErrorMsgContains("y[2] is not a number", plot.line, png, {y = {1, 'a'}})
  lu.assertErrorMsgContains("style 'dots'", plot.line, png, {y = {1, 2}, style = 'dots'})
  lu.assertErrorMsgContains('plot:', plot.line, '/nonexistent-dir/x.png', {y = {1, 2}})
end

os.exit(lu.LuaUnit.run())
