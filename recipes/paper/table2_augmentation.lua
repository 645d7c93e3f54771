-- Table 2 of the paper: augmentation strength for MoCo v2 versus supervised training.
-- (a) random-crop strength (min/max area): baseline 20%/100%, medium 20%/50%, extreme 2%/10%;
-- (b) colour-jitter strength s (SimCLR's: 0.8s, 0.8s, 0.8s, 0.2s).
--   build/sslab recipes/paper/table2_augmentation.lua [--epochs 20]
local sweep = dofile((debug.getinfo(1, 'S').source:sub(2):match('(.*/)') or './') .. 'sweep.lua')
local crops = {{'baseline 20%/100%', {'--crop_min', '0.2', '--crop_max', '1.0'}},
               {'medium 20%/50%', {'--crop_min', '0.2', '--crop_max', '0.5'}},
               {'extreme 2%/10%', {'--crop_min', '0.02', '--crop_max', '0.1'}}}
local jitters = {}
for _, s in ipairs({'0.25', '0.5', '1.0', '1.5'}) do jitters[#jitters + 1] = {'jitter s=' .. s, {'--jitter', s}} end
for _, r in ipairs({'mocov2', 'supervised'}) do
  local base = r == 'supervised' and {'--aug', 'mocov2'} or {} -- same augmentation family for both
  sweep.run{recipe = r, title = 'Table 2a: crop strength, ' .. r, file = 'table2a', base = base, variants = crops}
  sweep.run{recipe = r, title = 'Table 2b: colour-jitter strength, ' .. r, file = 'table2b', base = base, variants = jitters}
end
