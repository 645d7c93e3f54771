-- Figure 4 of the paper: linear-probe accuracy against the number of negatives K
-- for InstDisc (memory bank), MoCo v1 and v2 (queue), SimCLR (in-batch: K = 2 x batch - 2)
-- and MoCo v2 with hard negatives drawn from the queue (Figure 5).
--   build/sslab recipes/paper/figure4_negatives.lua [--epochs 20]
local sweep = dofile((debug.getinfo(1, 'S').source:sub(2):match('(.*/)') or './') .. 'sweep.lua')
local Ks = {'256', '1024', '4096'}
local function over_K(extra)
  local v = {}
  for _, K in ipairs(Ks) do
    local args = {'--K', K}
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    v[#v + 1] = {'K=' .. K, args}
  end
  return v
end
sweep.run{recipe = 'instdisc', title = 'Figure 4: InstDisc', file = 'figure4', variants = over_K()}
sweep.run{recipe = 'mocov1', title = 'Figure 4: MoCo v1', file = 'figure4', variants = over_K()}
sweep.run{recipe = 'mocov2', title = 'Figure 4: MoCo v2', file = 'figure4', variants = over_K()}
sweep.run{recipe = 'mocov2', title = 'Figure 4: MoCo v2 + hard negatives', file = 'figure4',
          variants = over_K({'--hard_negatives', 'on'})}
sweep.run{recipe = 'simclr', title = 'Figure 4: SimCLR (K = 2 x batch - 2)', file = 'figure4',
          variants = {{'batch 64 (K=126)', {'--batch', '64'}}, {'batch 128 (K=254)', {'--batch', '128'}},
                      {'batch 256 (K=510)', {'--batch', '256'}}}}
