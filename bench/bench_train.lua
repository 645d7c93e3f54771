-- bench/bench_train.lua CASE THREADS STEPS - the sslab side of bench_train.py.
-- Prints "images_per_s <x>" and "peak_rss_kb <y>" for one training-step case:
--   r50     resnet50, imagenet stem, 224x224x3, batch 32: forward, backward, SGD
--   r18     resnet18, cifar stem, width 16, 28x28x1, batch 256: forward, backward, SGD
--   moco    one MoCo v2 step at --preset small: query forward+backward, key forward,
--           InfoNCE against a 4096-key queue, SGD, EMA of the key encoder, enqueue
local sslab = require 'sslab'
local nn = sslab.nn
local case, threads, steps = arg[1] or 'r18', tonumber(arg[2] or 2), tonumber(arg[3] or 5)
sslab.set_num_threads(threads)
sslab.manual_seed(0)

local step, batch
if case == 'r50' or case == 'r18' then
  local model, x
  if case == 'r50' then
    batch = 32
    model = nn.resnet50{num_classes = 1000}
    x = sslab.randn(batch, 3, 224, 224)
  else
    batch = 256
    model = nn.resnet18{stem = 'cifar', width = 16, in_channels = 1, num_classes = 10}
    x = sslab.randn(batch, 1, 28, 28)
  end
  model.conv1.no_grad_input = true -- as PyTorch's step: the images do not require grad
  local y = sslab.randint(1, case == 'r50' and 1001 or 11, {batch})
  local ce = nn.CrossEntropy()
  local opt = sslab.optim.SGD(model, {lr = 0.01, momentum = 0.9, weight_decay = 1e-4})
  step = function()
    model:zero_grad()
    local out = model:forward(x)
    ce:forward(out, y)
    model:backward(x, ce:backward(out, y))
    opt:step()
  end
elseif case == 'moco' then
  batch = 256
  local cfg = {seed = 1, head = 'mlp', head_hidden = 128, dim = 128, K = 4096, m = 0.99, T = 0.2, bn_splits = 1}
  local moco = require('sslab.methods.moco').new(cfg, nn.resnet18{stem = 'cifar', width = 16, in_channels = 1})
  local opt = sslab.optim.SGD(moco.model, {lr = 0.06, momentum = 0.9, weight_decay = 5e-4})
  local b = {views = {sslab.randn(batch, 1, 28, 28), sslab.randn(batch, 1, 28, 28)}}
  moco:set_training(true)
  step = function()
    moco.model:zero_grad()
    moco:train_step(b)
    opt:step()
    moco:after_step()
  end
else
  error('bench_train.lua: unknown case ' .. tostring(case))
end

step() -- warm-up: buffers, workspace
local times = {}
local allocs = sslab.allocations()
for i = 1, steps do
  local t0 = sslab.clock()
  step()
  times[i] = sslab.clock() - t0
end
allocs = sslab.allocations() - allocs
table.sort(times)
print(string.format('images_per_s %.2f', batch / times[(steps + 1) // 2]))
print(string.format('allocations_per_step %.1f', allocs / steps))
for line in io.lines('/proc/self/status') do
  local kb = line:match('^VmHWM:%s+(%d+)')
  if kb then print('peak_rss_kb ' .. kb) end
end
