-- Table 1 of the paper: the nonlinear projection head in MoCo v2.
-- (a) no head, (b) a fixed (random, frozen) MLP head, (c) a deeper head,
-- (d) a narrower head, against the standard 2-layer MLP head. Linear probe
-- and kNN on h.
--   build/sslab recipes/paper/table1_heads.lua [--preset small] [--epochs 20]
local sweep = dofile((debug.getinfo(1, 'S').source:sub(2):match('(.*/)') or './') .. 'sweep.lua')
return sweep.run{recipe = 'mocov2', title = 'Table 1: projection head (MoCo v2)', file = 'table1',
  variants = {
    {'MoCo v2 (mlp head)', {}},
    {'(a) no MLP head', {'--head', 'none'}},
    {'(b) fixed MLP head', {'--head', 'fixed'}},
    {'(c) deeper MLP head', {'--head', 'deeper'}},
    {'(d) narrower MLP head', {'--head', 'narrower', '--head_hidden', '32'}},
  }}
