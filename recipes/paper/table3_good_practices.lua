-- Table 3 of the paper: which good practice lets MoCo v2 work with few negatives.
-- Each row at K = 512 and at a large K: (a) without the MLP head, (b) without
-- Gaussian blur, (c) without the cosine schedule (steps instead), (d) with key-encoder
-- momentum 0.5.
--   build/sslab recipes/paper/table3_good_practices.lua [--epochs 20] [--bigK 65536]
local sweep = dofile((debug.getinfo(1, 'S').source:sub(2):match('(.*/)') or './') .. 'sweep.lua')
local rows = {{'MoCo v2', {}}, {'(a) wo MLP projection head', {'--head', 'none'}},
              {'(b) wo GaussianBlur', {'--blur', 'off'}}, {'(c) wo cosine schedule', {'--schedule', 'step'}},
              {'(d) momentum 0.5 in the key encoder', {'--m', '0.5'}}}
for _, K in ipairs({'512', '4096'}) do
  local variants = {}
  for _, r in ipairs(rows) do
    local args = {'--K', K}
    for _, a in ipairs(r[2]) do args[#args + 1] = a end
    variants[#variants + 1] = {r[1] .. ' K=' .. K, args}
  end
  sweep.run{recipe = 'mocov2', title = 'Table 3: good practices, K = ' .. K, file = 'table3', variants = variants}
end
