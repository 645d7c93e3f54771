-- sslab.ssl through the Lua surface: losses against a reference written with
-- tensor ops, finite differences, the queue, the memory bank, hard negatives.
local lu = require 'luaunit'
local sslab = require 'sslab'
local ssl = require 'sslab.ssl'

local function unit_rows(n, d, gen)
  local x = sslab.randn(n, d, gen)
  return x / x:norm(2, 2, true)
end

-- InfoNCE written with tensor ops: mean_i [logsumexp(l_i) - l_i0].
local function infonce_ref(q, k, neg, T)
  local pos = (q * k):sum(2, true)                -- [N x 1]
  local logits = sslab.cat({pos, q:matmul(neg:t())}, 2) / T
  local m = logits:max(2, true)
  local lse = ((logits - m):exp():sum(2, true)):log() + m
  return (lse - logits:narrow(2, 1, 1)):mean()
end

function test_infonce_matches_reference_and_gradient()
  local g = sslab.Generator(1)
  local q, k, neg = unit_rows(6, 8, g), unit_rows(6, 8, g), unit_rows(20, 8, g)
  local crit = ssl.InfoNCE{T = 0.2}
  local loss, grad = crit:forward(q, k, neg)
  lu.assertAlmostEquals(loss, infonce_ref(q, k, neg, 0.2), 1e-4)
  -- central differences on a few coordinates of q
  local eps = 1e-3
  for _, ij in ipairs({{1, 1}, {3, 5}, {6, 8}}) do
    local i, j = ij[1], ij[2]
    local qp, qm = q:clone(), q:clone()
    qp[i][j] = q[i][j] + eps
    qm[i][j] = q[i][j] - eps
    local num = (infonce_ref(qp, k, neg, 0.2) - infonce_ref(qm, k, neg, 0.2)) / (2 * eps)
    lu.assertAlmostEquals(grad[i][j], num, 2e-3)
  end
end

function test_infonce_perfect_keys_give_top1()
  local g = sslab.Generator(2)
  local q = unit_rows(8, 16, g)
  local crit = ssl.InfoNCE{T = 0.05}
  local _, _, acc = crit:forward(q, q, unit_rows(50, 16, g) * 0.1)
  lu.assertEquals(acc, 1.0)
end

function test_ntxent_matches_reference()
  local g = sslab.Generator(3)
  local n, T = 5, 0.5
  local z = unit_rows(2 * n, 6, g)
  local loss, grad = ssl.NTXent{T = T}:forward(z)
  local s = z:matmul(z:t()) / T
  local total = 0
  for i = 1, 2 * n do
    local p = i <= n and i + n or i - n
    local lse = 0
    for j = 1, 2 * n do if j ~= i then lse = lse + math.exp(s[i][j]) end end
    total = total + math.log(lse) - s[i][p]
  end
  lu.assertAlmostEquals(loss, total / (2 * n), 1e-4)
  lu.assertEquals(grad:shape(), {2 * n, 6})
end

function test_queue_wraps_around()
  local q = ssl.Queue{K = 5, dim = 2, generator = sslab.Generator(4)}
  lu.assertAlmostEquals(q.keys:norm(2, 2):sum(), 5, 1e-4) -- starts with unit rows
  q:enqueue(sslab.tensor({{1, 1}, {2, 2}, {3, 3}}))
  q:enqueue(sslab.tensor({{4, 4}, {5, 5}, {6, 6}}))
  -- K = 5 is not a multiple of 3: rows 1..5 got 1..5, then 6 wrapped to row 1
  lu.assertEquals(q.keys:select(2, 1):totable(), {6, 2, 3, 4, 5})
  lu.assertEquals(q.ptr:item(), 1)
  lu.assertEquals(q.age:totable(), {0, 1, 1, 0, 0})
end

function test_memory_bank_update_renormalises()
  local bank = ssl.MemoryBank{size = 4, dim = 2, momentum = 0.5, negatives = 3, generator = sslab.Generator(5)}
  bank.bank:copy_(sslab.tensor({{1, 0}, {0, 1}, {1, 0}, {0, 1}}))
  bank:update(sslab.tensor({{0, 1}, {1, 0}}), sslab.tensor({1, 2}, 'int64'))
  local s = math.sqrt(0.5)
  lu.assertAlmostEquals(bank.bank[1][1], s, 1e-6)
  lu.assertAlmostEquals(bank.bank[1][2], s, 1e-6)
  lu.assertAlmostEquals(bank.bank[2][1], s, 1e-6)
  lu.assertEquals(bank.bank[3]:totable(), {1, 0})
  local loss, grad = bank:loss(unit_rows(2, 2, sslab.Generator(6)), sslab.tensor({1, 3}, 'int64'), sslab.Generator(7))
  lu.assertTrue(loss > 0)
  lu.assertTrue(bank.Z:item() > 0) -- estimated on the first batch, then kept
  lu.assertEquals(grad:shape(), {2, 2})
  lu.assertErrorMsgContains('positions[1] = 9 out of range [1, 4]', bank.update, bank, sslab.zeros(1, 2),
    sslab.tensor({9}, 'int64'))
end

function test_hard_negatives_prefer_similar_keys()
  local g = sslab.Generator(8)
  local q = unit_rows(4, 8, g)
  local queue = unit_rows(200, 8, g)
  local hard = ssl.HardNegatives{M = 300, xi = 0, omega = 0.1, alpha = 8}
  local idx = hard:sample(q, queue, g)
  lu.assertEquals(idx:shape(), {4, 300})
  -- the drawn keys are much more similar to their query than the average key
  local sims = q:matmul(queue:t())                           -- [4 x 200]
  local drawn = 0
  local rows = hard:last_indices()
  for i = 1, 4 do
    for j = 1, 300 do drawn = drawn + sims[i][rows[i][j]] end
  end
  lu.assertTrue(drawn / 1200 > sims:mean() + 0.3)
  -- the loss with per-query negatives runs and its accuracy is a fraction
  local loss, grad, acc = ssl.InfoNCE{T = 0.2}:forward_hard(q, q, queue, hard, g)
  lu.assertTrue(loss > 0 and acc >= 0 and acc <= 1)
  lu.assertEquals(grad:shape(), {4, 8})
end

function test_skewnorm_moments()
  local mean, var, skew = ssl.skewnorm_moments(0, 1, 0)
  lu.assertAlmostEquals(mean, 0, 1e-12)
  lu.assertAlmostEquals(var, 1, 1e-12)
  lu.assertAlmostEquals(skew, 0, 1e-12)
  local g, s, n = sslab.Generator(9), 0, 20000
  for _ = 1, n do s = s + ssl.skewnorm_draw(0, 1, 4, g) end
  local m = ssl.skewnorm_moments(0, 1, 4)
  lu.assertAlmostEquals(s / n, m, 0.03)
end

function test_ema()
  local a, b = sslab.ones(10), sslab.zeros(10)
  ssl.ema(a, b, 0.9)
  lu.assertAlmostEquals(a:sum(), 9, 1e-5)
  lu.assertErrorMsgContains('same size', ssl.ema, a, sslab.zeros(3), 0.9)
end

function test_errors_name_shapes()
  local crit = ssl.InfoNCE{T = 0.2}
  lu.assertErrorMsgContains('infonce: k: expected shape [3x4], got [2x4]', crit.forward, crit, sslab.zeros(3, 4),
    sslab.zeros(2, 4), sslab.zeros(5, 4))
  lu.assertErrorMsgContains('temperature', ssl.InfoNCE, {T = 0})
  lu.assertErrorMsgContains('ntxent: z has 3 rows', ssl.NTXent{T = 1}.forward, ssl.NTXent{T = 1}, sslab.zeros(3, 2))
end

-- Shuffle BN's helpers: a permutation drawn into an existing tensor, rows moved through it
-- and back; and a MoCo step with bn_splits 4 allocates nothing once warmed up.
function test_shuffle_bn_permutation_without_allocation()
  local k = sslab.core.ssl
  local perm = sslab.zeros({6}, 'int64')
  k.randperm_(perm, sslab.Generator(3))
  local seen = {}
  for i = 1, 6 do seen[perm[i]] = true end
  for i = 1, 6 do lu.assertTrue(seen[i], 'randperm_ is a permutation of 1..6') end
  local again = sslab.zeros({6}, 'int64')
  k.randperm_(again, sslab.Generator(3))
  lu.assertEquals(again:totable(), perm:totable())
  local x = sslab.randn(6, 2, 3)
  local shuffled, back = sslab.zeros(6, 2, 3), sslab.zeros(6, 2, 3)
  k.permute_rows(shuffled, x, perm, false)
  for i = 1, 6 do lu.assertEquals(shuffled[i]:totable(), x[perm[i]]:totable()) end
  k.permute_rows(back, shuffled, perm, true)
  lu.assertEquals(back:totable(), x:totable())
  lu.assertErrorMsgContains('perm[1] = 7 is outside 1..6', k.permute_rows, back, x,
                            sslab.tensor({7, 1, 2, 3, 4, 5}, 'int64'), false)
  lu.assertErrorMsgContains('must not share storage', k.permute_rows, x, x, perm, false)

  local cfg = {seed = 1, head = 'mlp', head_hidden = 16, dim = 8, K = 32, m = 0.99, T = 0.2, bn_splits = 4}
  local moco = require('sslab.methods.moco').new(cfg, sslab.nn.resnet18{stem = 'cifar', width = 4, in_channels = 1})
  local opt = sslab.optim.SGD(moco.model, {lr = 0.05, momentum = 0.9})
  local b = {views = {sslab.randn(8, 1, 8, 8), sslab.randn(8, 1, 8, 8)}}
  moco:set_training(true)
  local function step()
    moco.model:zero_grad()
    moco:train_step(b)
    opt:step()
    moco:after_step()
  end
  step()
  local before = sslab.allocations()
  step()
  lu.assertEquals(sslab.allocations() - before, 0, 'C allocations in a MoCo step with bn_splits 4')
  -- nothing reads the gradient w.r.t. the images: the encoder's first convolution skips it
  lu.assertTrue(moco.model.encoder.conv1.no_grad_input)
  lu.assertNil(moco.model.encoder.conv1.grad_input)
end

os.exit(lu.LuaUnit.run())
