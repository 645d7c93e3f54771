-- test_nn_optim.lua - sslab.optim (SGD, LARS, Adam/AdamW) against hand-computed updates,
-- parameter groups, flat runs vs per-parameter updates, state dicts; sslab.schedule values.
local lu = require 'luaunit'
local sslab = require 'sslab'
local nn, optim, schedule = sslab.nn, sslab.optim, sslab.schedule

local function rec(name, kind, values, grads)
    return {name = name, kind = kind, param = sslab.tensor(values), grad = sslab.tensor(grads)}
end

local function assertClose(t, want, tol)
    local v = t:contiguous():view(-1)
    lu.assertEquals(v:numel(), #want)
    for i = 1, #want do lu.assertAlmostEquals(v[i], want[i], tol or 1e-6) end
end

TestSGD = {}

function TestSGD:testPlainAndWeightDecay()
    local r = rec('w', 'weight', {1, -2}, {0.5, 0.25})
    local opt = optim.SGD({r}, {lr = 0.1, weight_decay = 0.01})
    opt:step()
    assertClose(r.param, {1 - 0.1 * 0.51, -2 - 0.1 * 0.23})
    lu.assertEquals(opt:steps(), 1)
end

function TestSGD:testMomentumNesterov()
    -- step 1: g' = g + wd p = (0.51, 0.23); buf = g'; update g' + 0.9 buf = 1.9 g'
    local r = rec('w', 'weight', {1, -2}, {0.5, 0.25})
    local opt = optim.SGD({r}, {lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.01})
    opt:step()
    assertClose(r.param, {0.9031, -2.0437})
    -- step 2 (same grad): g' = (0.509031, 0.229563); buf = 0.9 (0.51, 0.23) + g' = (0.968031, 0.436563)
    -- update = g' + 0.9 buf = (1.3802589, 0.6224697)
    opt:step()
    assertClose(r.param, {0.9031 - 0.13802589, -2.0437 - 0.06224697})
    assertClose(opt:state_dict().momentum_buffer, {0.968031, 0.436563})
end

function TestSGD:testMomentumDampening()
    local r = rec('w', 'weight', {1}, {1})
    local opt = optim.SGD({r}, {lr = 1, momentum = 0.5, dampening = 0.5})
    opt:step()       -- buf = g = 1 (first step: no dampening, as PyTorch)
    assertClose(r.param, {0})
    opt:step(0.1)    -- buf = 0.5 * 1 + 0.5 * 1 = 1; lr 0.1
    assertClose(r.param, {-0.1})
    lu.assertErrorMsgContains('nesterov needs momentum > 0 and dampening 0',
                              function() optim.SGD({rec('w', 'weight', {1}, {1})}, {lr = 1, nesterov = true}):step() end)
    lu.assertErrorMsgContains("SGD: unknown option 'momentun'", function() optim.SGD({r}, {lr = 1, momentun = 0.9}) end)
end

function TestSGD:testGroups()
    local w = rec('body.weight', 'weight', {1}, {1})
    local b = rec('body.bias', 'bias', {1}, {1})
    local g = rec('bn.weight', 'bn', {1}, {1})
    local h = rec('fc.weight', 'weight', {1}, {1})
    local opt = optim.SGD({w, b, g, h}, {lr = 0.1, weight_decay = 0.5, exclude_from_weight_decay = {'bn', 'bias'},
                                          groups = {{match = '^fc%.', lr = 1}}})
    opt:step()
    assertClose(w.param, {1 - 0.1 * 1.5}) -- decayed
    assertClose(b.param, {1 - 0.1})       -- bias: no decay
    assertClose(g.param, {1 - 0.1})       -- bn: no decay
    assertClose(h.param, {1 - 1 * 1.5})   -- head: lr 1 (= 10 x base)
    opt:step(0.01)                        -- a scheduled lr scales the head's lr alike
    assertClose(h.param, {-0.5 - 0.1 * (1 - 0.25)})
    -- a function matcher
    local x = rec('x', 'weight', {1}, {1})
    local o2 = optim.SGD({x}, {lr = 1, groups = {{match = function(r) return r.name == 'x' end, lr_mult = 0}}})
    o2:step()
    assertClose(x.param, {1})
end

-- A small flattened model: flat runs must update exactly as per-parameter updates do.
function TestSGD:testFlatRunsMatchPerParameter()
    sslab.manual_seed(3)
    local function make()
        local m = nn.Sequential():add(nn.Linear(4, 3), 'fc1'):add(nn.BatchNorm1d(3), 'bn'):add(nn.ReLU())
            :add(nn.Linear(3, 2), 'fc2')
        return m
    end
    local a = make()
    local b = a:clone()
    a:flatten_parameters()
    local opts = {lr = 0.1, momentum = 0.9, weight_decay = 0.01, exclude_from_weight_decay = {'bn', 'bias'}}
    local oa, ob = optim.SGD(a, opts), optim.SGD(b, opts)
    local x = sslab.randn(5, 4)
    for _ = 1, 3 do
        for _, m in ipairs({a, b}) do
            m:zero_grad()
            m:forward(x)
            m:backward(x, sslab.ones(5, 2))
        end
        oa:step()
        ob:step()
    end
    -- runs: fc1.weight | fc1.bias, bn.weight, bn.bias | fc2.weight | fc2.bias
    lu.assertEquals(#oa.runs, 4)
    lu.assertEquals(#ob.runs, 6)
    local sa, sb = a:state_dict(), b:state_dict()
    for k, t in pairs(sa) do lu.assertAlmostEquals((t:float() - sb[k]:float()):abs():max(), 0, 1e-6, k) end
end

function TestSGD:testStateDictResume()
    sslab.manual_seed(4)
    local m = nn.Sequential():add(nn.Linear(3, 2))
    m:flatten_parameters()
    local x = sslab.randn(4, 3)
    local function train(model, opt, n)
        for _ = 1, n do
            model:zero_grad()
            model:forward(x)
            model:backward(x, sslab.ones(4, 2))
            opt:step()
        end
    end
    local opts = {lr = 0.1, momentum = 0.9}
    local ref = m:clone()
    local oref = optim.SGD(ref, opts)
    train(ref, oref, 4)
    local o1 = optim.SGD(m, opts)
    train(m, o1, 2)
    local saved = {}
    for k, t in pairs(o1:state_dict()) do saved[k] = t:clone() end
    local params = m.flat_params:clone()
    -- a fresh model and optimiser resumed from the saved state
    local m2 = m:clone()
    m2.flat_params:copy_(params)
    local o2 = optim.SGD(m2, opts)
    o2:load_state_dict(saved)
    lu.assertEquals(o2:steps(), 2)
    train(m2, o2, 2)
    lu.assertAlmostEquals((m2.flat_params - ref.flat_params):abs():max(), 0, 1e-6)
    lu.assertErrorMsgContains('missing momentum_buffer', function() o2:load_state_dict({step = saved.step}) end)
end

TestAdam = {}

function TestAdam:testFirstSteps()
    local r = rec('w', 'weight', {1, -1}, {0.5, -2})
    local opt = optim.Adam({r}, {lr = 0.1})
    opt:step()
    -- first step: m/(1-b1) = g, v/(1-b2) = g^2: the update is lr * sign(g)
    assertClose(r.param, {0.9, -0.9}, 1e-6)
    r.grad:copy_(sslab.tensor({0.25, -2}))
    opt:step()
    -- element 1: m = 0.9*0.05 + 0.1*0.25 = 0.07, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
    -- p -= 0.1 * (0.07/0.19) / (sqrt(0.00031225/0.001999) + 1e-8)
    local m, v = 0.07, 0.00031225
    local want1 = 0.9 - 0.1 * (m / 0.19) / (math.sqrt(v / (1 - 0.999 ^ 2)) + 1e-8)
    assertClose(r.param, {want1, -0.8}, 1e-5)
    lu.assertEquals(opt:steps(), 2)
    assertClose(opt:state_dict().exp_avg, {0.07, -0.38}, 1e-6)
end

function TestAdam:testWeightDecay()
    -- Adam: L2 in the gradient; AdamW: decoupled shrink p *= 1 - lr wd
    local a = rec('w', 'weight', {2}, {0})
    optim.Adam({a}, {lr = 0.1, weight_decay = 0.5}):step()
    assertClose(a.param, {1.9}, 1e-6) -- g = 0 + 0.5 * 2 = 1 -> moves by lr
    local b = rec('w', 'weight', {2}, {1})
    optim.AdamW({b}, {lr = 0.1, weight_decay = 0.5}):step()
    assertClose(b.param, {2 * (1 - 0.05) - 0.1}, 1e-6)
end

TestLARS = {}

function TestLARS:testTrustRatio()
    -- ||w|| = 5, ||g|| = 0.5: trust = 0.001 * 5 / 0.5 = 0.01; buf = lr * trust * g
    local w = rec('conv.weight', 'weight', {3, 4}, {0.3, 0.4})
    local b = rec('bn.bias', 'bn', {3, 4}, {0.3, 0.4})
    local opt = optim.LARS({w, b}, {lr = 1, momentum = 0.9})
    opt:step()
    assertClose(w.param, {3 - 0.003, 4 - 0.004})
    assertClose(b.param, {3 - 0.3, 4 - 0.4}) -- BN: no adaptation
    lu.assertAlmostEquals(opt.trust[1], 0.01, 1e-7)
    lu.assertEquals(opt.trust[2], 1)
    -- weight decay enters the gradient before the norm: g' = (0.6, 0.8), ||g'|| = 1, trust = 0.005
    local w2 = rec('conv.weight', 'weight', {3, 4}, {0.3, 0.4})
    local b2 = rec('bn.bias', 'bn', {3, 4}, {0.3, 0.4})
    local o2 = optim.LARS({w2, b2}, {lr = 1, momentum = 0.9, weight_decay = 0.1})
    o2:step()
    assertClose(w2.param, {3 - 0.003, 4 - 0.004})
    assertClose(b2.param, {3 - 0.3, 4 - 0.4}) -- BN: no decay either
    lu.assertAlmostEquals(o2.trust[1], 0.005, 1e-7)
    -- second step: buf = 0.9 buf + lr trust g
    w.grad:copy_(sslab.tensor({0, 0}))
    opt:step()
    assertClose(w.param, {3 - 0.003 - 0.0027, 4 - 0.004 - 0.0036})
    -- zero gradient norm: trust 1
    lu.assertEquals(opt.trust[1], 1)
end

TestSchedule = {}

function TestSchedule:testValues()
    lu.assertEquals(schedule.constant(0.1)(1234), 0.1)
    local st = schedule.step(1, 10, 0.5)
    lu.assertEquals({st(0), st(9), st(10), st(25)}, {1, 1, 0.5, 0.25})
    local ms = schedule.multistep(1, {30, 10}, 0.1)
    lu.assertAlmostEquals(ms(9), 1, 1e-12)
    lu.assertAlmostEquals(ms(10), 0.1, 1e-12)
    lu.assertAlmostEquals(ms(30), 0.01, 1e-12)
    local c = schedule.cosine(1, 100, 0.1)
    lu.assertAlmostEquals(c(0), 1, 1e-12)
    lu.assertAlmostEquals(c(50), 0.55, 1e-12)
    lu.assertAlmostEquals(c(100), 0.1, 1e-12)
    lu.assertAlmostEquals(c(200), 0.1, 1e-12)
    lu.assertAlmostEquals(schedule.cosine(2, 4)(1), 1 + math.cos(math.pi / 4), 1e-12)
    local w = schedule.warmup(schedule.cosine(1, 100), 10)
    lu.assertAlmostEquals(w(0), 0, 1e-12)
    lu.assertAlmostEquals(w(5), 0.5, 1e-12)
    lu.assertAlmostEquals(w(10), 1, 1e-12)
    lu.assertAlmostEquals(w(60), 0.5, 1e-12)
    local w2 = schedule.warmup(0.4, 4, 0.2)
    lu.assertAlmostEquals(w2(2), 0.3, 1e-12)
    lu.assertAlmostEquals(w2(100), 0.4, 1e-12)
    -- any function of the step works where a schedule is expected
    local r = rec('w', 'weight', {1}, {1})
    local opt = optim.SGD({r}, {lr = 1})
    local custom = function(t) return 0.5 ^ t end
    for t = 0, 2 do opt:step(custom(t)) end
    assertClose(r.param, {1 - 1 - 0.5 - 0.25})
end

os.exit(lu.LuaUnit.run())
