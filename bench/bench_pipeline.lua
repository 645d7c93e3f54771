-- bench_pipeline.lua - helper of bench_pipeline.py: prepares the images and times the
-- sslab side (data.loader with the MoCo v2 two-view pipeline).
--   sslab bench_pipeline.lua prepare DIR N32 N224      writes DIR/u8_32.bin (N32 x 3 x 32 x 32 uint8)
--                                                     and DIR/jpeg/<class>/*.jpg (N224 JPEGs, 288 x 352)
--   sslab bench_pipeline.lua loader DIR THREADS WORKERS SECONDS   prints "name images_per_s" lines
--   sslab bench_pipeline.lua train THREADS             prints the training step's samples/s (32 x 32)
local sslab = require 'sslab'
local data, aug = sslab.data, sslab.aug
local mode = arg[1]

if mode == 'prepare' then
  local dir, n32, n224 = arg[2], tonumber(arg[3]), tonumber(arg[4])
  local syn = data.synthetic{n = n32, size = 32, seed = 1}
  local parts = {}
  for i = 1, n32 do parts[i] = syn:get(i):to_string() end
  local f = assert(io.open(dir .. '/u8_32.bin', 'wb'))
  f:write(table.concat(parts))
  f:close()
  local big = data.synthetic{n = n224, size = 352, seed = 2}
  for c = 1, 2 do assert(sslab.mkdir(string.format('%s/jpeg/class%d', dir, c))) end
  for i = 1, n224 do
    local img = big:get(i):narrow(2, 33, 288) -- 288 x 352, like a typical photo
    sslab.image.save(string.format('%s/jpeg/class%d/%05d.jpg', dir, i % 2 + 1, i), img, {quality = 90})
  end
  return
end

local function time_loader(ds, transform, workers, seconds, batch)
  local l = data.loader(ds, {batch = batch, transform = transform, workers = workers, seed = 1})
  local images, t0, e = 0, sslab.clock(), 0
  repeat
    e = e + 1
    for b in l:epoch(e) do images = images + b.size end
  until sslab.clock() - t0 > seconds
  local dt = sslab.clock() - t0
  l:close()
  return images / dt
end

if mode == 'loader' then
  local dir, threads, workers, seconds = arg[2], tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
  sslab.set_num_threads(threads)
  local f = assert(io.open(dir .. '/u8_32.bin', 'rb'))
  local bytes = f:read('a')
  f:close()
  local n = #bytes // 3072
  local ds32 = data.tensors(sslab.from_string(bytes, 'uint8', {n, 3, 32, 32}), nil)
  local t32 = aug.two_views(aug.preset('mocov2', {size = 32}))
  print(string.format('sslab_32 %.1f', time_loader(ds32, t32, workers, seconds, 256)))
  local dsj = assert(data.image_folder{root = dir .. '/jpeg'})
  local t224 = aug.two_views(aug.preset('mocov2', {size = 224}))
  print(string.format('sslab_224 %.1f', time_loader(dsj, t224, workers, seconds, 32)))
  return
end

if mode == 'train' then
  local threads = tonumber(arg[2])
  sslab.set_num_threads(threads)
  local net = sslab.nn.resnet18{stem = 'cifar'}
  local batch = 16
  local q, k = sslab.randn(batch, 3, 32, 32), sslab.randn(batch, 3, 32, 32)
  local function step()
    local h = net:forward(q)
    net:backward(q, sslab.ones(h:shape()))
    net:forward(k) -- the key encoder's forward (same cost as the momentum encoder's)
  end
  step()
  local t0, n = sslab.clock(), 0
  repeat step(); n = n + 1 until sslab.clock() - t0 > 2
  print(string.format('train_32 %.1f', n * batch / (sslab.clock() - t0)))
  return
end

error('bench_pipeline.lua: mode prepare, loader or train')
