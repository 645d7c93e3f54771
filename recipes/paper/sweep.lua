-- recipes/paper/sweep.lua - run one bundled recipe over a list of variants and
-- print a results table (mean and spread over seeds). The paper's tables and
-- figures are written with it (recipes/paper/*.lua); so can your own ablations:
--
--   local sweep = dofile('recipes/paper/sweep.lua')
--   sweep.run{recipe = 'mocov2', title = 'heads', base = {'--epochs', '20'},
--             seeds = {1, 2},
--             variants = {{'MoCo v2', {}}, {'(a) no head', {'--head', 'none'}}}}
--
-- Extra command-line options of the calling script are passed to every run,
-- so `build/sslab recipes/paper/table1_heads.lua --epochs 2` shortens them all.
local json = require 'sslab.json'

local sweep = {}

local function here()
  local src = debug.getinfo(1, 'S').source:sub(2)
  return src:match('(.*)/paper/[^/]*$') or 'recipes'
end

local function mean_std(xs)
  local n, s = #xs, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(v / (n - 1)) or 0
end

--- Run every variant (for every seed); returns rows {name, metric means, stds}.
function sweep.run(spec)
  local script_args = spec.args or arg or {}
  local rows = {}
  for _, variant in ipairs(spec.variants) do
    local name, extra = variant[1], variant[2]
    local results = {}
    for _, seed in ipairs(spec.seeds or {1}) do
      local argv = {}
      for _, a in ipairs(spec.base or {}) do argv[#argv + 1] = a end
      for _, a in ipairs(extra) do argv[#argv + 1] = a end
      argv[#argv + 1] = '--seed'
      argv[#argv + 1] = tostring(seed)
      for _, a in ipairs(script_args) do argv[#argv + 1] = a end
      print(string.format('\n=== %s: %s (seed %d): %s', spec.title or spec.recipe, name, seed, table.concat(argv, ' ')))
      arg = argv
      results[#results + 1] = dofile(here() .. '/' .. spec.recipe .. '.lua')
    end
    local row = {name = name}
    for _, metric in ipairs(spec.metrics or {'probe_h_top1', 'knn_h'}) do
      local xs = {}
      for _, r in ipairs(results) do if r[metric] then xs[#xs + 1] = r[metric] end end
      if #xs > 0 then row[metric] = {mean_std(xs)} end
    end
    rows[#rows + 1] = row
  end
  sweep.report(spec, rows)
  return rows
end

--- Print the table; also appends it as JSON to runs/<title>.jsonl.
function sweep.report(spec, rows)
  local metrics = spec.metrics or {'probe_h_top1', 'knn_h'}
  print(string.format('\n%s', spec.title or spec.recipe))
  local header = string.format('  %-36s', 'variant')
  for _, m in ipairs(metrics) do header = header .. string.format(' %16s', m) end
  print(header)
  for _, row in ipairs(rows) do
    local line = string.format('  %-36s', row.name)
    for _, m in ipairs(metrics) do
      local v = row[m]
      line = line .. (v and string.format(' %9.2f ± %4.2f', v[1], v[2]) or string.format(' %16s', '-'))
    end
    print(line)
  end
  local f = io.open('runs/' .. (spec.file or spec.recipe) .. '-sweep.jsonl', 'a')
  if f then
    f:write(json.encode({title = spec.title, rows = rows}), '\n')
    f:close()
  end
end

return sweep
