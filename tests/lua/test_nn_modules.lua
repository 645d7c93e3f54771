-- test_nn_modules.lua - sslab.nn layers and containers: finite-difference gradients
-- w.r.t. inputs (contiguous and non-contiguous) and parameters, containers with a
-- custom Lua layer, freeze, clone, buffer reuse, printing and error messages.
local lu = require 'luaunit'
local sslab = require 'sslab'
local nn = sslab.nn

-- {======================================================================
-- gradient check: probe loss L = sum(r * y), analytic grad = backward(x, r),
-- numeric = central differences at steps h, h/4, h/16, h/64. A coordinate passes when
-- one of them matches (a ReLU / max-pool kink within the larger steps spoils only
-- those); when none matches but they disagree with each other, the coordinate sits
-- on a kink and is skipped (Caffe's checker does likewise); otherwise it fails.
-- =======================================================================

local function dot(a, b)
    a, b = a:contiguous():view(-1), b:contiguous():view(-1)
    local s = 0
    for i = 1, a:numel() do s = s + a[i] * b[i] end
    return s
end

-- Indices 1..n to probe (all when small, else a fixed spread of k).
local function probe_indices(n, k)
    k = k or 12
    local out = {}
    if n <= k then
        for i = 1, n do out[i] = i end
    else
        for j = 0, k - 1 do out[#out + 1] = 1 + (j * 7919) % n end
    end
    return out
end

-- f() -> loss (double); t: a contiguous tensor to perturb; grad: analytic gradient (t's shape).
local function check_numeric(label, f, t, grad, opts)
    opts = opts or {}
    local h, atol, rtol = opts.h or 1e-2, opts.atol or 2e-3, opts.rtol or 2e-2
    local tv, gv = t:view(-1), grad:contiguous():view(-1)
    local checked, worst = 0, 0
    for _, i in ipairs(probe_indices(tv:numel(), opts.k)) do
        local v = tv[i]
        local function diff(hh)
            tv[i] = v + hh
            local lp = f()
            tv[i] = v - hh
            local lm = f()
            tv[i] = v
            return (lp - lm) / (2 * hh)
        end
        local a = gv[i]
        local est, ok, lo, hi = {}, false, math.huge, -math.huge
        for k, hh in ipairs({h, h / 4, h / 16, h / 64}) do
            est[k] = diff(hh)
            lo, hi = math.min(lo, est[k]), math.max(hi, est[k])
            local err = math.abs(a - est[k])
            if err <= atol + rtol * math.abs(est[k]) then
                ok = true
                worst = math.max(worst, err)
                break
            end
        end
        if ok then
            checked = checked + 1
        elseif hi - lo <= atol + rtol * math.abs(hi) then -- consistent estimates, wrong analytic value
            lu.fail(string.format('%s: element %d analytic %.6g numeric %.6g / %.6g / %.6g / %.6g (steps h = %g, h/4, h/16, h/64; atol %g rtol %g)',
                                  label, i, a, est[1], est[2], est[3], est[4], h, atol, rtol))
        end
    end
    lu.assertTrue(checked > 0, label .. ': every probed coordinate sat on a kink')
    return worst
end

-- Check module m at input x (any layout) against finite differences, for the input and every parameter.
-- make_input(base) builds x from a contiguous base tensor (identity, transpose, narrow ...).
local function gradcheck(m, base, make_input, opts)
    opts = opts or {}
    make_input = make_input or function(b) return b end
    local x = make_input(base)
    local y = m:forward(x)
    local r = sslab.randn(y:size())
    local function loss() return dot(m:forward(make_input(base)), r) end
    m:zero_grad()
    m:forward(x)
    local gx = m:backward(x, r)
    lu.assertEquals(gx:size(), x:size())
    -- analytic gradient w.r.t. base: scatter gx through the same view of a zero tensor
    local gbase = sslab.zeros(base:size())
    make_input(gbase):copy_(gx)
    check_numeric((opts.name or 'module') .. ' input', loss, base, gbase, opts)
    if opts.params ~= false then
        local recs = m:named_parameters()
        local grads = {}
        for i, rec in ipairs(recs) do grads[i] = rec.grad:clone() end
        for i, rec in ipairs(recs) do
            if not opts.only or opts.only[rec.name] then check_numeric((opts.name or 'module') .. ' ' .. rec.name, loss, rec.param, grads[i], opts) end
        end
    end
end

local function transposed(dim1, dim2) return function(b) return b:transpose(dim1, dim2) end end

-- Inputs away from ReLU's kink: |x| >= 0.05.
local function away_from_zero(t)
    local v = t:view(-1)
    for i = 1, v:numel() do
        if math.abs(v[i]) < 0.05 then v[i] = v[i] < 0 and -0.05 - math.abs(v[i]) or 0.05 + v[i] end
    end
    return t
end

-- }======================================================================

TestLayers = {}

function TestLayers:setUp() sslab.manual_seed(1234) end

function TestLayers:testConv2d()
    local conv = nn.Conv2d(3, 4, 3, {stride = 2, padding = 1})
    gradcheck(conv, sslab.randn(2, 3, 7, 6), nil, {name = 'conv'})
    -- non-contiguous: the base is [2 x 3 x 6 x 7], the input its H/W transpose
    gradcheck(conv, sslab.randn(2, 3, 6, 7), transposed(3, 4), {name = 'conv transposed'})
    local pw = nn.Conv2d(4, 2, 1, {bias = false})
    lu.assertNil(pw.bias)
    gradcheck(pw, sslab.randn(2, 4, 3, 3), nil, {name = 'conv1x1'})
    -- narrowed batch
    gradcheck(nn.Conv2d(2, 3, {3, 2}, {padding = 1}), sslab.randn(4, 2, 5, 5),
              function(b) return b:narrow(1, 2, 2) end, {name = 'conv narrow'})
end

function TestLayers:testConv2dValues()
    -- a 1x1 conv is a per-pixel matrix product
    local conv = nn.Conv2d(2, 3, 1)
    local x = sslab.randn(1, 2, 2, 2)
    local y = conv:forward(x)
    local w, b = conv.weight:view(3, 2), conv.bias
    for o = 1, 3 do
        for i = 1, 2 do
            for j = 1, 2 do
                local want = b[o] + w[o][1] * x[1][1][i][j] + w[o][2] * x[1][2][i][j]
                lu.assertAlmostEquals(y[1][o][i][j], want, 1e-5)
            end
        end
    end
end

function TestLayers:testBatchNorm()
    local x = sslab.randn(4, 3, 3, 2)
    local bn = nn.BatchNorm2d(3)
    bn.weight:uniform_(0.5, 1.5)
    bn.bias:uniform_(-0.5, 0.5)
    gradcheck(bn, x:clone(), nil, {name = 'bn'})
    gradcheck(bn, sslab.randn(4, 3, 2, 3), transposed(3, 4), {name = 'bn transposed'})
    local g2 = nn.BatchNorm2d(3, {groups = 2})
    gradcheck(g2, x:clone(), nil, {name = 'bn groups'})
    local gi = nn.BatchNorm2d(3, {groups = 2, interleaved = true})
    gradcheck(gi, x:clone(), nil, {name = 'bn groups interleaved'})
    local ev = nn.BatchNorm2d(3)
    ev.running_mean:uniform_(-1, 1)
    ev.running_var:uniform_(0.5, 2)
    ev:evaluate()
    gradcheck(ev, x:clone(), nil, {name = 'bn eval'})
    local b1 = nn.BatchNorm1d(5, {affine = false})
    lu.assertEquals(#b1:named_parameters(), 0)
    gradcheck(b1, sslab.randn(6, 5), nil, {name = 'bn1d'})
    gradcheck(nn.BatchNorm1d(5), sslab.randn(5, 6), transposed(1, 2), {name = 'bn1d transposed'})
end

-- BatchNorm{relu = true} is ReLU(BatchNorm(x)) in one pass: the same outputs and gradients
-- (parameters and input) in training, with groups, in evaluation, 2-d and 1-d; and a
-- finite-difference check of the fused module itself.
function TestLayers:testBatchNormFusedReLU()
    local cases = {
        {nn.BatchNorm2d, 3, {}, {6, 3, 5, 4}},
        {nn.BatchNorm2d, 3, {groups = 2}, {6, 3, 5, 4}},
        {nn.BatchNorm1d, 70, {}, {8, 70}},
        {nn.BatchNorm2d, 3, {}, {6, 3, 5, 4}, 'eval'},
    }
    for i, c in ipairs(cases) do
        local make, ch, opts, shape, eval = table.unpack(c)
        local fused_opts = {relu = true}
        for k, v in pairs(opts) do fused_opts[k] = v end
        local plain, fused, relu = make(ch, opts), make(ch, fused_opts), nn.ReLU()
        for _, m in ipairs({plain, fused}) do
            m.weight:copy_(sslab.linspace and sslab.linspace(0.5, 1.5, ch) or sslab.full({ch}, 0.8))
            m.bias:copy_(sslab.full({ch}, 0.1))
            if eval then m.running_var:fill_(1.5); m:evaluate() end
        end
        local x = sslab.randn(shape, sslab.Generator(i))
        local gy = sslab.randn(shape, sslab.Generator(10 + i))
        local y_ref = relu:forward(plain:forward(x)):clone()
        local y = fused:forward(x)
        lu.assertTrue((y - y_ref):abs():max() < 1e-6, 'fused relu forward, case ' .. i)
        plain:zero_grad(); fused:zero_grad()
        local gx_ref = plain:backward(x, relu:backward(plain.output, gy)):clone()
        local gx = fused:backward(x, gy)
        lu.assertTrue((gx - gx_ref):abs():max() < 1e-5, 'fused relu grad_input, case ' .. i)
        lu.assertTrue((fused:grad_of('weight') - plain:grad_of('weight')):abs():max() < 1e-4, 'grad weight ' .. i)
        lu.assertTrue((fused:grad_of('bias') - plain:grad_of('bias')):abs():max() < 1e-4, 'grad bias ' .. i)
    end
    lu.assertStrContains(tostring(nn.BatchNorm2d(4, {relu = true})), '+ ReLU')
    local bn = nn.BatchNorm2d(3, {relu = true})
    bn.bias:fill_(0.2)
    gradcheck(bn, away_from_zero(sslab.randn(4, 3, 3, 2)), nil, {name = 'bn + relu'})
end

function TestLayers:testBatchNormStatistics()
    local bn = nn.BatchNorm2d(2, {momentum = 0.5})
    local x = sslab.randn(3, 2, 2, 2) * 2 + 1
    local y = bn:forward(x)
    -- per channel: zero mean, unit (biased) variance; running stats moved half way
    for c = 1, 2 do
        local xc = x:select(2, c):contiguous():view(-1)
        local yc = y:select(2, c):contiguous():view(-1)
        local mean, var = xc:mean(), xc:var() -- unbiased
        lu.assertAlmostEquals(yc:mean(), 0, 1e-5)
        lu.assertAlmostEquals(bn.running_mean[c], 0.5 * mean, 1e-5)
        lu.assertAlmostEquals(bn.running_var[c], 0.5 + 0.5 * var, 1e-4)
    end
    lu.assertEquals(bn.num_batches_tracked:item(), 1)
    lu.assertEquals(bn.num_batches_tracked:dtype(), 'int64')
    bn:evaluate()
    bn:forward(x)
    lu.assertEquals(bn.num_batches_tracked:item(), 1) -- evaluation does not count
    lu.assertErrorMsgContains('groups 2 must be >= 1 and divide the batch size 3',
                              function() nn.BatchNorm2d(2, {groups = 2}):forward(x) end)
    lu.assertErrorMsgContains('BatchNorm2d: input must have 4 to 4 dims, got [3x2]',
                              function() nn.BatchNorm2d(2):forward(sslab.randn(3, 2)) end)
end

function TestLayers:testLinear()
    local fc = nn.Linear(5, 3)
    gradcheck(fc, sslab.randn(4, 5), nil, {name = 'linear'})
    gradcheck(fc, sslab.randn(5, 4), transposed(1, 2), {name = 'linear transposed'})
    gradcheck(nn.Linear(3, 2, {bias = false}), sslab.randn(3, 6), function(b) return b:narrow(2, 2, 3) end,
              {name = 'linear narrow'})
    local bound = 1 / math.sqrt(5)
    lu.assertTrue(fc.weight:abs():max() <= bound)
    lu.assertErrorMsgContains('linear_forward: input has 4 features but weight expects 5 (input [2x4], weight [3x5])',
                              function() fc:forward(sslab.randn(2, 4)) end)
end

function TestLayers:testReLU()
    local x = away_from_zero(sslab.randn(3, 4))
    gradcheck(nn.ReLU(), x, nil, {name = 'relu'})
    gradcheck(nn.ReLU(), away_from_zero(sslab.randn(4, 3)), transposed(1, 2), {name = 'relu transposed'})
    local inplace = nn.ReLU({inplace = true})
    local z = x:clone()
    local y = inplace:forward(z)
    lu.assertTrue(rawequal(y, z))
    lu.assertEquals(y:min(), 0)
end

function TestLayers:testPools()
    -- distinct values 0.1 apart: no ties within the probe step
    local perm = sslab.randperm(2 * 3 * 5 * 5):float():view(2, 3, 5, 5) * 0.1
    gradcheck(nn.MaxPool2d(3, {stride = 2, padding = 1}), perm:clone(), nil, {name = 'maxpool', h = 1e-2})
    gradcheck(nn.MaxPool2d(2), perm:clone(), transposed(3, 4), {name = 'maxpool transposed'})
    local y = nn.MaxPool2d(2):forward(sslab.tensor({{{{1, 2}, {3, 4}}}}))
    lu.assertEquals(y:view(-1)[1], 4)
    gradcheck(nn.GlobalAvgPool(), sslab.randn(2, 3, 4, 2), nil, {name = 'avgpool'})
    gradcheck(nn.GlobalAvgPool(), sslab.randn(2, 3, 2, 4), transposed(3, 4), {name = 'avgpool transposed'})
    lu.assertEquals(nn.GlobalAvgPool():forward(sslab.ones(2, 3, 4, 4)):shape(), {2, 3})
end

function TestLayers:testFlattenNormalize()
    gradcheck(nn.Flatten(), sslab.randn(2, 3, 2), nil, {name = 'flatten'})
    gradcheck(nn.Flatten(), sslab.randn(3, 2, 2), transposed(1, 2), {name = 'flatten transposed'})
    lu.assertEquals(nn.Flatten():forward(sslab.randn(2, 3, 4)):shape(), {2, 12})
    gradcheck(nn.Normalize(), sslab.randn(3, 5), nil, {name = 'normalize'})
    gradcheck(nn.Normalize(), sslab.randn(5, 3), transposed(1, 2), {name = 'normalize transposed'})
    local y = nn.Normalize():forward(sslab.tensor({{3, 4}}))
    lu.assertAlmostEquals(y[1][1], 0.6, 1e-6)
    lu.assertAlmostEquals(y[1][2], 0.8, 1e-6)
end

function TestLayers:testCrossEntropy()
    local logits = sslab.tensor({{1, 2, 3}, {0, 0, 0}})
    local target = sslab.tensor({3, 1}, 'int64')
    local crit = nn.CrossEntropy()
    local l = crit:forward(logits, target)
    local lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    lu.assertAlmostEquals(l, ((lse - 3) + math.log(3)) / 2, 1e-6)
    -- label smoothing s: target distribution (1 - s) onehot + s / K
    local s = 0.1
    local ls = nn.CrossEntropy({label_smoothing = s}):forward(logits, target)
    local row1 = (1 - s) * (lse - 3) + s / 3 * ((lse - 1) + (lse - 2) + (lse - 3))
    lu.assertAlmostEquals(ls, (row1 + math.log(3)) / 2, 1e-6)
    -- gradient by finite differences
    local x = sslab.randn(4, 5)
    local t = sslab.tensor({5, 1, 2, 5}, 'int64')
    local c = nn.CrossEntropy({label_smoothing = 0.2})
    c:forward(x, t)
    local g = c:backward(x, t):clone()
    check_numeric('cross entropy', function() return c:forward(x, t) end, x, g)
    -- non-contiguous logits and a table of targets
    local xt = sslab.randn(5, 4)
    lu.assertAlmostEquals(c:forward(xt:t(), {5, 1, 2, 5}), c:forward(xt:t():contiguous(), t), 1e-6)
    lu.assertErrorMsgContains('cross_entropy: target 0 at row 1 is out of range 1..5 (class labels are 1-based',
                              function() c:forward(x, sslab.tensor({0, 1, 2, 3}, 'int64')) end)
    lu.assertErrorMsgContains('cross_entropy: target is [3], expected [4]',
                              function() c:forward(x, sslab.tensor({1, 1, 2}, 'int64')) end)
end

function TestLayers:testMSE()
    local x, t = sslab.randn(3, 4), sslab.randn(3, 4)
    local m = nn.MSE()
    local l = m:forward(x, t)
    lu.assertAlmostEquals(l, ((x - t) ^ 2):mean(), 1e-6)
    local g = m:backward(x, t):clone()
    check_numeric('mse', function() return m:forward(x, t) end, x, g)
end

function TestLayers:testBindingErrors()
    local k = nn.kernels
    lu.assertErrorMsgContains('conv2d_forward: input has 3 channels but weight expects 2 (input [1x3x5x5], weight',
                              function() k.conv2d_forward(sslab.randn(1, 3, 5, 5), sslab.randn(4, 2, 3, 3), nil,
                                                          sslab.zeros(1, 4, 3, 3), sslab.zeros(1000), 1, 0) end)
    lu.assertErrorMsgContains('Conv2d: input [1x3x5x5] has 3 channels, expected 2',
                              function() nn.Conv2d(2, 4, 3):forward(sslab.randn(1, 3, 5, 5)) end)
    lu.assertErrorMsgContains('relu_forward: input must be float32, got int64 [3]',
                              function() k.relu_forward(sslab.zeros({3}, 'int64'), sslab.zeros(3)) end)
    lu.assertErrorMsgContains('relu_forward: input [2x3] must be contiguous',
                              function() k.relu_forward(sslab.zeros(3, 2):t(), sslab.zeros(2, 3)) end)
    lu.assertErrorMsgContains('linear_backward: grad_weight is [3x4], expected [3x5]',
                              function() k.linear_backward(sslab.zeros(2, 5), sslab.zeros(2, 3), sslab.zeros(3, 5), nil,
                                                           sslab.zeros(3, 4)) end)
    lu.assertErrorMsgContains('batchnorm_forward: save_mean is [1x3], expected [2x3] (input [4x3x2x2], groups 2)',
                              function() k.batchnorm_forward(sslab.zeros(4, 3, 2, 2), sslab.zeros(4, 3, 2, 2), nil, nil,
                                                             nil, nil, sslab.zeros(1, 3), sslab.zeros(2, 3), true, 0.1,
                                                             1e-5, 2, false) end)
    lu.assertErrorMsgContains('conv2d_forward: workspace has 1 floats, needs',
                              function() k.conv2d_forward(sslab.zeros(1, 2, 5, 5), sslab.zeros(3, 2, 3, 3), nil,
                                                          sslab.zeros(1, 3, 3, 3), sslab.zeros(1), 1, 0) end)
end

-- {======================================================================
-- containers
-- =======================================================================

-- A layer written in plain Lua, not derived from nn.Module: y = a * x + b (a, b scalars as [1] tensors).
local function ScaleShift()
    local m = {a = sslab.tensor({1.5}), b = sslab.tensor({-0.25}), ga = sslab.zeros(1), gb = sslab.zeros(1),
               frozen = false, training = true}
    function m:forward(x)
        self.output = x * self.a[1] + self.b[1]
        return self.output
    end
    function m:backward(x, g)
        if not self.frozen then
            self.ga:add_(dot(g, x))
            self.gb:add_(g:sum())
        end
        return g * self.a[1]
    end
    function m:parameters() return {self.a, self.b}, {self.ga, self.gb} end
    function m:zero_grad() self.ga:zero_() self.gb:zero_() end
    function m:train(mode) self.training = mode ~= false end
    function m:evaluate() self.training = false end
    function m:freeze() self.frozen = true end
    function m:unfreeze() self.frozen = false end
    function m:clone()
        local c = ScaleShift()
        c.a:copy_(self.a) c.b:copy_(self.b)
        return c
    end
    return m
end

TestContainers = {}

function TestContainers:setUp() sslab.manual_seed(99) end

function TestContainers:testSequential()
    local net = nn.Sequential()
        :add(nn.Linear(4, 6), 'fc1'):add(nn.ReLU()):add(ScaleShift(), 'scale'):add(nn.Linear(6, 2), 'fc2')
    gradcheck(net, sslab.randn(3, 4), nil, {name = 'sequential'})
    gradcheck(net, sslab.randn(4, 3), transposed(1, 2), {name = 'sequential transposed'})
    local names = {}
    for _, r in ipairs(net:named_parameters()) do names[#names + 1] = r.name .. ':' .. r.kind end
    lu.assertEquals(names, {'fc1.weight:weight', 'fc1.bias:bias', 'scale.0:bias', 'scale.1:bias', 'fc2.weight:weight',
                            'fc2.bias:bias'})
    lu.assertEquals(net:get(1), net.fc1)
    lu.assertEquals(net:get('fc2'), net.modules[4])
    lu.assertEquals(net:size(), 4)
    -- clone uses the custom layer's own clone(); a flattened container refuses new children
    local c = net:clone()
    lu.assertFalse(c.scale == net.scale)
    lu.assertEquals(c.scale.a[1], 1.5)
    net:flatten_parameters()
    lu.assertTrue(sslab.nn.kernels.same_storage(net.scale.a, net.flat_params))
    lu.assertErrorMsgContains('the container is flattened', function() net:add(nn.ReLU()) end)
    -- train/evaluate reach the custom layer
    net:evaluate()
    lu.assertFalse(net.modules[3].training)
    net:train()
    lu.assertTrue(net.modules[3].training)
end

function TestContainers:testResidualAndConcat()
    local branch = nn.Sequential():add(nn.Conv2d(3, 3, 3, {padding = 1})):add(nn.BatchNorm2d(3))
    gradcheck(nn.Residual(branch), sslab.randn(2, 3, 4, 4), nil, {name = 'residual identity'})
    local b2 = nn.Sequential():add(nn.Conv2d(3, 4, 3, {padding = 1, stride = 2}), 'conv'):add(nn.ReLU())
    local sc = nn.Sequential():add(nn.Conv2d(3, 4, 1, {stride = 2}))
    local res = nn.Residual(b2, sc, {relu = true})
    gradcheck(res, sslab.randn(2, 3, 5, 5), nil, {name = 'residual relu'})
    gradcheck(res, sslab.randn(2, 3, 5, 5), transposed(3, 4), {name = 'residual transposed'})
    local names = {}
    for _, r in ipairs(res:named_parameters()) do names[#names + 1] = r.name end
    lu.assertEquals(names, {'conv.weight', 'conv.bias', 'downsample.0.weight', 'downsample.0.bias'})
    local cat = nn.Concat({nn.Linear(3, 2), nn.Sequential():add(ScaleShift())})
    lu.assertEquals(cat:forward(sslab.randn(4, 3)):shape(), {4, 5})
    gradcheck(cat, sslab.randn(4, 3), nil, {name = 'concat'})
end

function TestContainers:testTinyResNetGradients()
    local m = nn.resnet18{width = 2, stem = 'cifar', num_classes = 3}
    local only = {['conv1.weight'] = true, ['layer2.0.downsample.0.weight'] = true, ['layer3.1.bn2.weight'] = true,
                  ['layer4.1.conv2.weight'] = true, ['fc.bias'] = true}
    gradcheck(m, sslab.randn(4, 3, 8, 8), nil, {name = 'resnet18', k = 4, only = only})
    -- resnet50 in evaluation mode: in training, BatchNorm over 4 samples at 1x1 deep in a width-2
    -- bottleneck stack makes the function too ill-conditioned for finite differences
    local b = nn.resnet50{width = 2, stem = 'cifar'}:evaluate()
    gradcheck(b, sslab.randn(4, 3, 8, 8), transposed(3, 4),
              {name = 'resnet50', k = 3, only = {['layer1.0.conv3.weight'] = true, ['layer4.2.bn3.bias'] = true}})
end

function TestContainers:testErrorsNameTheChild()
    local net = nn.Sequential():add(nn.Linear(4, 3), 'fc1'):add(nn.Linear(2, 2), 'fc2')
    local ok, err = pcall(net.forward, net, sslab.randn(1, 4))
    lu.assertFalse(ok)
    lu.assertStrContains(err, 'Sequential[2 fc2] (Linear):forward:')
    lu.assertStrContains(err, 'input has 3 features but weight expects 2')
    local outer = nn.Sequential():add(net, 'body')
    ok, err = pcall(outer.forward, outer, sslab.randn(1, 4))
    lu.assertStrContains(err, 'Sequential[1 body] (Sequential):forward: Sequential[2 fc2] (Linear)')
    lu.assertErrorMsgContains('Sequential:backward: call forward(x) first',
                              function() nn.Sequential():add(nn.ReLU()):backward(sslab.randn(1, 4), sslab.randn(1, 4)) end)
end

function TestContainers:testFreeze()
    local fc1, fc2 = nn.Linear(4, 5), nn.Linear(5, 2)
    local net = nn.Sequential():add(fc1):add(nn.ReLU()):add(fc2)
    net:flatten_parameters()
    fc1:freeze()
    lu.assertTrue(fc1.frozen)
    local w1, w2 = fc1.weight:clone(), fc2.weight:clone()
    local opt = sslab.optim.SGD(net, {lr = 0.5, momentum = 0.9, weight_decay = 0.1})
    local x = sslab.randn(3, 4)
    net:zero_grad()
    net:forward(x)
    local gx = net:backward(x, sslab.ones(3, 2))
    lu.assertTrue(gx:abs():sum() > 0)                -- gradient flows through the frozen layer
    lu.assertEquals(fc1.grad_weight:abs():sum(), 0)   -- but is not computed for its parameters
    lu.assertTrue(fc2.grad_weight:abs():sum() > 0)
    opt:step()
    lu.assertEquals((fc1.weight - w1):abs():max(), 0) -- frozen: unchanged, weight decay included
    lu.assertTrue((fc2.weight - w2):abs():max() > 0)
    lu.assertStrContains(tostring(net), 'Linear(4, 5) [frozen]')
    -- unfreezing re-plans the optimiser
    fc1:unfreeze()
    net:zero_grad()
    net:forward(x)
    net:backward(x, sslab.ones(3, 2))
    opt:step()
    lu.assertTrue((fc1.weight - w1):abs():max() > 0)
end

function TestContainers:testCloneAndPrint()
    local net = nn.Sequential():add(nn.Conv2d(2, 3, 3), 'conv'):add(nn.BatchNorm2d(3), 'bn'):add(nn.ReLU())
        :add(nn.GlobalAvgPool()):add(nn.Linear(3, 2), 'fc')
    net:flatten_parameters()
    local x = sslab.randn(2, 2, 5, 5)
    net:evaluate()
    local y = net:forward(x):clone()
    local c = net:clone()
    lu.assertEquals((c:forward(x) - y):abs():max(), 0)
    lu.assertFalse(c.flat_params == net.flat_params)
    lu.assertFalse(sslab.nn.kernels.same_storage(c.conv.weight, net.conv.weight))
    lu.assertTrue(sslab.nn.kernels.same_storage(c.conv.weight, c.flat_params))
    c.fc.weight:fill_(0)
    lu.assertTrue(net.fc.weight:abs():sum() > 0) -- independent
    lu.assertFalse(c.conv._workspace == net.conv._workspace)
    local s = tostring(net)
    lu.assertStrContains(s, 'Sequential (71 parameters) {')
    lu.assertStrContains(s, '(conv): Conv2d(2, 3, kernel 3, stride 1, padding 0)')
    lu.assertStrContains(s, '(bn): BatchNorm2d(3, eps 1e-05, momentum 0.1)')
    lu.assertStrContains(s, '(2): ReLU')
    lu.assertStrContains(s, '(fc): Linear(3, 2)')
    lu.assertEquals(tostring(nn.Linear(3, 2)), 'Linear(3, 2) (8 parameters)')
end

function TestContainers:testBuffersReused()
    local net = nn.Sequential():add(nn.Conv2d(2, 3, 3, {padding = 1})):add(nn.BatchNorm2d(3)):add(nn.ReLU())
        :add(nn.MaxPool2d(2)):add(nn.Flatten()):add(nn.Linear(12, 2))
    local x = sslab.randn(2, 2, 4, 4)
    local y1 = net:forward(x)
    local g1 = net:backward(x, sslab.ones(2, 2))
    local y2 = net:forward(x)
    local g2 = net:backward(x, sslab.ones(2, 2))
    lu.assertTrue(rawequal(y1, y2))
    lu.assertTrue(rawequal(g1, g2))
    net:clear_state()
    lu.assertNil(net.output)
    lu.assertNil(net.modules[1].output)
    lu.assertNil(net.modules[2]._tmp_save_mean)
    lu.assertEquals(net:forward(x):shape(), {2, 2})
    local x3 = sslab.randn(3, 2, 4, 4) -- a new batch size: new buffers
    lu.assertFalse(rawequal(net:forward(x3), y1))
    lu.assertEquals(net.output:shape(), {3, 2})
end

os.exit(lu.LuaUnit.run())
