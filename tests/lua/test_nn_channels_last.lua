-- test_nn_channels_last.lua - the channels_last memory format: tensor queries and
-- conversions, every image layer fed channels-last input against the same layer fed
-- channels-first input (outputs, input gradients, parameter gradients), ResNets built
-- channels last against channels first, mixed formats refused with a clear error.
local lu = require 'luaunit'
local sslab = require 'sslab'
local nn = sslab.nn
local knn = sslab.core.nn

local function maxdiff(a, b) return (a - b):abs():max() end

-- largest |a - b| relative to the largest |b|
local function reldiff(a, b) return maxdiff(a, b) / math.max((b:abs():max()), 1e-12) end

TestTensorFormat = {}

function TestTensorFormat:test_queries_and_conversion()
    local x = sslab.randn(2, 3, 4, 5)
    lu.assertTrue(x:is_contiguous())
    lu.assertFalse(x:is_contiguous('channels_last'))
    local y = x:contiguous('channels_last')
    lu.assertTrue(y:is_contiguous('channels_last'))
    lu.assertFalse(y:is_contiguous())
    lu.assertEquals(y:size(), {2, 3, 4, 5})
    lu.assertEquals(y:stride(), {60, 1, 15, 3})
    lu.assertEquals(maxdiff(y, x), 0)
    lu.assertTrue(y:contiguous('channels_last') == y or y:contiguous('channels_last'):is_contiguous('channels_last'))
    lu.assertEquals(maxdiff(y:contiguous(), x), 0)
    lu.assertTrue(y:contiguous():is_contiguous())
    -- one channel or 1x1 planes: both formats at once
    lu.assertTrue(sslab.randn(2, 1, 3, 3):is_contiguous('channels_last'))
    lu.assertTrue(sslab.randn(2, 7, 1, 1):is_contiguous('channels_last'))
    lu.assertErrorMsgContains('expected a 4-d', function() sslab.randn(2, 3):contiguous('channels_last') end)
    lu.assertErrorMsgContains("invalid option 'nhwc'", function() x:contiguous('nhwc') end)
    lu.assertFalse(sslab.randn(2, 3):is_contiguous('channels_last'))
end

function TestTensorFormat:test_mixed_formats_refused()
    local x = sslab.randn(2, 3, 6, 6)
    local w = sslab.randn(4, 3, 3, 3)
    local y = sslab.zeros(2, 6, 6, 4):permute(1, 4, 2, 3)
    local OH, OW, ws = knn.conv2d_geometry(2, 3, 6, 6, 4, 3, 3, 1, 1, true)
    lu.assertEquals({OH, OW}, {6, 6})
    lu.assertErrorMsgContains('conv2d_forward: output [2x4x6x6] is channels_last but the tensors before it are '
                              .. 'channels-first', function()
        knn.conv2d_forward(x, w, nil, y, sslab.empty(math.max(ws, 1)), 1, 1)
    end)
    lu.assertErrorMsgContains('must be contiguous or channels_last', function()
        knn.relu_forward(x:transpose(3, 4), sslab.zeros(2, 3, 6, 6))
    end)
end

-- {======================================================================
-- layers: channels last == channels first
-- =======================================================================

-- Run module m (and a clone) on x channels first and channels last; compare the
-- outputs, the input gradients and every parameter gradient.
local function check_layer(label, make, x, tol)
    tol = tol or 1e-5
    sslab.manual_seed(7)
    local a = make()
    local b = a:clone()
    local xl = x:contiguous('channels_last')
    local ya = a:forward(x)
    local yb = b:forward(xl)
    lu.assertTrue(reldiff(yb, ya) < tol, label .. ': forward differs by ' .. reldiff(yb, ya))
    if yb:dim() == 4 and yb:size(2) > 1 and yb:size(3) * yb:size(4) > 1 and not xl:is_contiguous() then
        lu.assertTrue(yb:is_contiguous('channels_last'), label .. ': output is not channels last')
    end
    local r = sslab.randn(table.unpack(ya:size()))
    a:zero_grad()
    b:zero_grad()
    local ga = a:backward(x, r)
    local gb = b:backward(xl, r:dim() == 4 and r:contiguous('channels_last') or r)
    lu.assertTrue(reldiff(gb, ga) < tol, label .. ': grad_input differs by ' .. reldiff(gb, ga))
    local _, pa = a:parameters()
    local _, pb = b:parameters()
    for i = 1, #pa do
        local d = reldiff(pb[i], pa[i])
        lu.assertTrue(d < tol, label .. ': parameter gradient ' .. i .. ' differs by ' .. d)
    end
    -- channels-first gradients into a channels-last layer are converted
    b:zero_grad()
    local gc = b:backward(xl, r)
    lu.assertTrue(reldiff(gc, ga) < tol, label .. ': channels-first grad_output')
end

TestLayersChannelsLast = {}

function TestLayersChannelsLast:test_conv2d_every_path()
    local shapes = {
        {3, 16, 10, 9, 16, 3, 1, 1},  -- Winograd in 'auto'/'always'
        {5, 16, 8, 8, 32, 3, 2, 1},   -- stride-2 im2col
        {5, 16, 8, 8, 32, 1, 2, 0},   -- 1x1 stride-2 shortcut
        {4, 24, 6, 7, 40, 1, 1, 0},   -- 1x1 stride 1: a GEMM on x itself
        {2, 3, 15, 15, 8, 7, 2, 3},   -- ImageNet stem
        {6, 1, 9, 9, 16, 3, 1, 1},    -- CIFAR stem with one input channel
    }
    local before = knn.conv2d_winograd()
    for _, mode in ipairs({'off', 'auto', 'always'}) do
        knn.conv2d_winograd(mode)
        for _, s in ipairs(shapes) do
            local N, C, H, W, O, k, stride, pad = table.unpack(s)
            local label = string.format('conv %dx%dx%dx%d -> %d k%d s%d (%s)', N, C, H, W, O, k, stride, mode)
            check_layer(label, function() return nn.Conv2d(C, O, k, {stride = stride, padding = pad}) end,
                        sslab.randn(N, C, H, W), 2e-5)
        end
    end
    knn.conv2d_winograd(before)
end

function TestLayersChannelsLast:test_conv2d_converts_channels_first_input()
    sslab.manual_seed(3)
    local a = nn.Conv2d(3, 8, 3, {padding = 1})
    local b = a:clone()
    b.channels_last = true
    local x = sslab.randn(2, 3, 6, 6)
    local ya, yb = a:forward(x), b:forward(x)
    lu.assertTrue(yb:is_contiguous('channels_last'))
    lu.assertTrue(reldiff(yb, ya) < 1e-5)
    local r = sslab.randn(2, 8, 6, 6)
    local ga, gb = a:backward(x, r), b:backward(x, r)
    lu.assertTrue(reldiff(gb, ga) < 1e-5)
    lu.assertTrue(reldiff(b.grad_weight, a.grad_weight) < 1e-5)
end

function TestLayersChannelsLast:test_batchnorm()
    for _, opts in ipairs({{}, {relu = true}, {groups = 2}, {groups = 2, interleaved = true, relu = true},
                           {affine = false}}) do
        for _, C in ipairs({3, 16, 20}) do
            local label = string.format('BatchNorm2d(%d) %s', C, sslab.json and '' or '')
            check_layer(label, function() return nn.BatchNorm2d(C, opts) end, sslab.randn(4, C, 5, 6) * 3 + 1, 1e-4)
        end
    end
    -- evaluation uses the running statistics
    local bn = nn.BatchNorm2d(16)
    bn:forward(sslab.randn(4, 16, 5, 5):contiguous('channels_last'))
    bn:evaluate()
    check_layer('BatchNorm2d eval', function() return bn end, sslab.randn(4, 16, 5, 5), 1e-5)
end

function TestLayersChannelsLast:test_relu_pools_residual()
    check_layer('ReLU', function() return nn.ReLU() end, sslab.randn(3, 8, 5, 5))
    check_layer('MaxPool2d', function() return nn.MaxPool2d(3, {stride = 2, padding = 1}) end, sslab.randn(2, 8, 9, 9))
    check_layer('GlobalAvgPool', function() return nn.GlobalAvgPool() end, sslab.randn(3, 8, 5, 4))
    check_layer('BasicBlock', function() return nn.basic_block(8, 16, 2) end, sslab.randn(4, 8, 8, 8), 1e-4)
    check_layer('Bottleneck', function() return nn.bottleneck_block(16, 4, 1) end, sslab.randn(4, 16, 6, 6), 1e-4)
end

-- }======================================================================

TestResNetChannelsLast = {}

-- The same network built channels first and channels last: the same outputs, input
-- gradients and parameter gradients, and a training step leaves the same weights.
local function check_resnet(label, make, x, tol)
    sslab.manual_seed(11)
    local a = make(false)
    sslab.manual_seed(11)
    local b = make(true)
    for _, m in ipairs({a, b}) do m:train() end
    local ya, yb = a:forward(x), b:forward(x)
    lu.assertTrue(reldiff(yb, ya) < tol, label .. ': forward ' .. reldiff(yb, ya))
    lu.assertTrue(b.layer1.output:is_contiguous('channels_last'), label .. ': activations are not channels last')
    lu.assertFalse(a.layer1.output:is_contiguous('channels_last'))
    local r = sslab.randn(table.unpack(ya:size()))
    a:zero_grad()
    b:zero_grad()
    local ga, gb = a:backward(x, r), b:backward(x, r)
    lu.assertTrue(reldiff(gb, ga) < tol, label .. ': grad_input ' .. reldiff(gb, ga))
    lu.assertTrue(reldiff(b.flat_grads, a.flat_grads) < tol, label .. ': parameter gradients ' ..
                  reldiff(b.flat_grads, a.flat_grads))
    -- evaluation mode (running statistics)
    a:evaluate()
    b:evaluate()
    lu.assertTrue(reldiff(b:forward(x), a:forward(x)) < tol, label .. ': evaluation forward')
end

function TestResNetChannelsLast:test_resnet18_cifar()
    check_resnet('resnet18 cifar', function(cl)
        return nn.resnet18{stem = 'cifar', width = 8, in_channels = 1, num_classes = 5, channels_last = cl}
    end, sslab.randn(6, 1, 12, 12), 1e-4)
    check_resnet('resnet18 cifar rgb', function(cl)
        return nn.resnet18{stem = 'cifar', width = 8, in_channels = 3, channels_last = cl, bn_splits = 2}
    end, sslab.randn(4, 3, 10, 10), 1e-4)
end

function TestResNetChannelsLast:test_resnet50_imagenet_stem()
    -- 53 layers of float rounding in different orders: the input gradient agrees to ~2e-4
    check_resnet('resnet50', function(cl)
        return nn.resnet50{width = 4, num_classes = 3, channels_last = cl}
    end, sslab.randn(2, 3, 40, 40), 5e-4)
end

function TestResNetChannelsLast:test_default_is_channels_last_and_allocation_free()
    local net = nn.resnet18{stem = 'cifar', width = 8, in_channels = 1}
    local x, r = sslab.randn(8, 1, 12, 12), sslab.randn(8, 64)
    local function step()
        net:zero_grad()
        net:forward(x)
        net:backward(x, r)
    end
    step()
    lu.assertTrue(net.layer2.output:is_contiguous('channels_last'))
    local before = sslab.allocations()
    step()
    step()
    lu.assertEquals(sslab.allocations() - before, 0)
end

os.exit(lu.LuaUnit.run())
