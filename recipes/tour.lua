-- recipes/tour.lua - a two-second tour of the tensor runtime.
--
-- It draws a seeded three-class Gaussian mixture, fits a softmax regression with
-- plain tensor ops (matmul, broadcasting, reductions) and gradient descent, and
-- prints what it did at each step.   build/sslab recipes/tour.lua [--steps 100]
local sslab = require 'sslab'

local cfg = {seed = 1, n = 3000, dim = 16, classes = 3, steps = 60, lr = 0.5}
for i = 1, #arg, 2 do -- --key value overrides
  local key = arg[i]:match('^%-%-(.+)$')
  if not key or cfg[key] == nil then error('unknown option ' .. tostring(arg[i])) end
  cfg[key] = tonumber(arg[i + 1]) or error('option --' .. key .. ' needs a number')
end

sslab.manual_seed(cfg.seed)
print(string.format('sslab %s: softmax regression on a %d-class Gaussian mixture (n=%d, d=%d, seed=%d, %d threads)',
  sslab.version, cfg.classes, cfg.n, cfg.dim, cfg.seed, sslab.get_num_threads()))

-- Data: class c has mean mu[c]; x = mu[label] + noise.
local mu = sslab.randn(cfg.classes, cfg.dim) * 0.4
local labels = sslab.randint(1, cfg.classes + 1, {cfg.n})          -- 1-based class labels
local x = mu:index_select(1, labels) + sslab.randn(cfg.n, cfg.dim)
local onehot = sslab.zeros(cfg.n, cfg.classes)
for i = 1, cfg.n do onehot[i][labels[i]] = 1 end

local w, b = sslab.zeros(cfg.dim, cfg.classes), sslab.zeros(cfg.classes)
local t0 = os.clock()
for step = 1, cfg.steps do
  local logits = x:matmul(w) + b                                   -- [n x classes]
  local shifted = logits - logits:max(2, true)                     -- stable softmax
  local p = shifted:exp()
  p = p / p:sum(2, true)
  local loss = -(onehot * (p + 1e-12):log()):sum() / cfg.n
  local grad = (p - onehot) / cfg.n                                -- d loss / d logits
  w:sub_(x:t():matmul(grad), cfg.lr)
  b:sub_(grad:sum(1), cfg.lr)
  if step == 1 or step % 10 == 0 then
    local _, predicted = logits:max(2)
    local accuracy = predicted:eq(labels):float():mean()
    print(string.format('step %3d  loss %.4f  train accuracy %.3f', step, loss, accuracy))
  end
end
print(string.format('done in %.2f s of CPU time; weights %s, |w| = %.3f', os.clock() - t0,
  table.concat(w:shape(), 'x'), w:norm()))
