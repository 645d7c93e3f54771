-- sslab.plot: line and scatter figures drawn with cairo, saved as PNG or SVG.
--
--   local plot = require 'sslab.plot'      -- also sslab.plot
--   plot.save('curves.png', {
--     title = 'mocov2 small',
--     panels = {
--       {title = 'loss', xlabel = 'epoch', ylabel = 'InfoNCE',
--        series = {{x = epochs, y = losses, label = 'train'}}},
--       {title = 'kNN top-1', xlabel = 'epoch', ylabel = '%', ylim = {0, 100},
--        series = {{x = epochs, y = knn, label = 'kNN', style = 'both'}}},
--     }})
--   plot.line('loss.svg', {y = losses, xlabel = 'step', ylabel = 'loss'})   -- one series, one panel
--
-- x and y are arrays of numbers or 1-d tensors (x defaults to 1..n); style is
-- 'line' (default), 'points' or 'both'; color = {r, g, b} in [0, 1].
local core = require 'sslab.core'

local plot = {}

local function check_available()
  if not core.plot_render then
    error('sslab.plot: built without cairo (install libcairo2-dev and rebuild)', 3)
  end
end

--- Render a figure table (see above) to path (.png or .svg); returns path.
function plot.save(path, figure)
  check_available()
  assert(type(path) == 'string', 'plot.save: path must be a string')
  assert(type(figure) == 'table', 'plot.save: figure must be a table')
  return core.plot_render(figure, path)
end

--- One panel with one or more series: plot.line(path, {y=, x=, label=, title=, xlabel=, ylabel=})
--- or plot.line(path, {series = {...}, title=, ...}).
function plot.line(path, opts)
  local series = opts.series or {{x = opts.x, y = opts.y, label = opts.label, style = opts.style}}
  return plot.save(path, {panels = {{title = opts.title, xlabel = opts.xlabel, ylabel = opts.ylabel,
    xlim = opts.xlim, ylim = opts.ylim, series = series}}, width = opts.width, height = opts.height})
end

--- A scatter plot of 2-d points, one series per class: plot.scatter(path, points [N x 2], labels [N] (1-based), {classes=})
function plot.scatter(path, points, labels, opts)
  opts = opts or {}
  local groups, order = {}, {}
  local n = points:size(1)
  for i = 1, n do
    local c = labels and labels[i] or 1
    if not groups[c] then
      groups[c] = {x = {}, y = {}, style = 'points', label = opts.classes and opts.classes[c] or tostring(c)}
      order[#order + 1] = c
    end
    local g = groups[c]
    g.x[#g.x + 1] = points[i][1]
    g.y[#g.y + 1] = points[i][2]
  end
  table.sort(order)
  local series = {}
  for _, c in ipairs(order) do series[#series + 1] = groups[c] end
  return plot.save(path, {panels = {{title = opts.title, xlabel = opts.xlabel, ylabel = opts.ylabel, series = series}},
    width = opts.width, height = opts.height})
end

return plot
