-- test_nn_resnet.lua - sslab.nn ResNets: torchvision state_dict names and shapes,
-- load_state_dict errors, flat parameters, options, steady-state allocation, a
-- checkpoint round trip, and a tiny supervised run that must learn.
local lu = require 'luaunit'
local sslab = require 'sslab'
local nn = sslab.nn

-- torchvision resnet18(num_classes=10).state_dict(): key:shape in order (122 entries; scalars have no shape)
local TV_RESNET18 = [[
conv1.weight:64x3x7x7 bn1.weight:64 bn1.bias:64 bn1.running_mean:64 bn1.running_var:64
bn1.num_batches_tracked: layer1.0.conv1.weight:64x64x3x3 layer1.0.bn1.weight:64 layer1.0.bn1.bias:64
layer1.0.bn1.running_mean:64 layer1.0.bn1.running_var:64 layer1.0.bn1.num_batches_tracked:
layer1.0.conv2.weight:64x64x3x3 layer1.0.bn2.weight:64 layer1.0.bn2.bias:64 layer1.0.bn2.running_mean:64
layer1.0.bn2.running_var:64 layer1.0.bn2.num_batches_tracked: layer1.1.conv1.weight:64x64x3x3
layer1.1.bn1.weight:64 layer1.1.bn1.bias:64 layer1.1.bn1.running_mean:64 layer1.1.bn1.running_var:64
layer1.1.bn1.num_batches_tracked: layer1.1.conv2.weight:64x64x3x3 layer1.1.bn2.weight:64
layer1.1.bn2.bias:64 layer1.1.bn2.running_mean:64 layer1.1.bn2.running_var:64
layer1.1.bn2.num_batches_tracked: layer2.0.conv1.weight:128x64x3x3 layer2.0.bn1.weight:128
layer2.0.bn1.bias:128 layer2.0.bn1.running_mean:128 layer2.0.bn1.running_var:128
layer2.0.bn1.num_batches_tracked: layer2.0.conv2.weight:128x128x3x3 layer2.0.bn2.weight:128
layer2.0.bn2.bias:128 layer2.0.bn2.running_mean:128 layer2.0.bn2.running_var:128
layer2.0.bn2.num_batches_tracked: layer2.0.downsample.0.weight:128x64x1x1 layer2.0.downsample.1.weight:128
layer2.0.downsample.1.bias:128 layer2.0.downsample.1.running_mean:128 layer2.0.downsample.1.running_var:128
layer2.0.downsample.1.num_batches_tracked: layer2.1.conv1.weight:128x128x3x3 layer2.1.bn1.weight:128
layer2.1.bn1.bias:128 layer2.1.bn1.running_mean:128 layer2.1.bn1.running_var:128
layer2.1.bn1.num_batches_tracked: layer2.1.conv2.weight:128x128x3x3 layer2.1.bn2.weight:128
layer2.1.bn2.bias:128 layer2.1.bn2.running_mean:128 layer2.1.bn2.running_var:128
layer2.1.bn2.num_batches_tracked: layer3.0.conv1.weight:256x128x3x3 layer3.0.bn1.weight:256
layer3.0.bn1.bias:256 layer3.0.bn1.running_mean:256 layer3.0.bn1.running_var:256
layer3.0.bn1.num_batches_tracked: layer3.0.conv2.weight:256x256x3x3 layer3.0.bn2.weight:256
layer3.0.bn2.bias:256 layer3.0.bn2.running_mean:256 layer3.0.bn2.running_var:256
layer3.0.bn2.num_batches_tracked: layer3.0.downsample.0.weight:256x128x1x1 layer3.0.downsample.1.weight:256
layer3.0.downsample.1.bias:256 layer3.0.downsample.1.running_mean:256 layer3.0.downsample.1.running_var:256
layer3.0.downsample.1.num_batches_tracked: layer3.1.conv1.weight:256x256x3x3 layer3.1.bn1.weight:256
layer3.1.bn1.bias:256 layer3.1.bn1.running_mean:256 layer3.1.bn1.running_var:256
layer3.1.bn1.num_batches_tracked: layer3.1.conv2.weight:256x256x3x3 layer3.1.bn2.weight:256
layer3.1.bn2.bias:256 layer3.1.bn2.running_mean:256 layer3.1.bn2.running_var:256
layer3.1.bn2.num_batches_tracked: layer4.0.conv1.weight:512x256x3x3 layer4.0.bn1.weight:512
layer4.0.bn1.bias:512 layer4.0.bn1.running_mean:512 layer4.0.bn1.running_var:512
layer4.0.bn1.num_batches_tracked: layer4.0.conv2.weight:512x512x3x3 layer4.0.bn2.weight:512
layer4.0.bn2.bias:512 layer4.0.bn2.running_mean:512 layer4.0.bn2.running_var:512
layer4.0.bn2.num_batches_tracked: layer4.0.downsample.0.weight:512x256x1x1 layer4.0.downsample.1.weight:512
layer4.0.downsample.1.bias:512 layer4.0.downsample.1.running_mean:512 layer4.0.downsample.1.running_var:512
layer4.0.downsample.1.num_batches_tracked: layer4.1.conv1.weight:512x512x3x3 layer4.1.bn1.weight:512
layer4.1.bn1.bias:512 layer4.1.bn1.running_mean:512 layer4.1.bn1.running_var:512
layer4.1.bn1.num_batches_tracked: layer4.1.conv2.weight:512x512x3x3 layer4.1.bn2.weight:512
layer4.1.bn2.bias:512 layer4.1.bn2.running_mean:512 layer4.1.bn2.running_var:512
layer4.1.bn2.num_batches_tracked: fc.weight:10x512 fc.bias:10
]]

-- torchvision resnet50(num_classes=10).state_dict(): key:shape in order (320 entries; scalars have no shape)
local TV_RESNET50 = [[
conv1.weight:64x3x7x7 bn1.weight:64 bn1.bias:64 bn1.running_mean:64 bn1.running_var:64
bn1.num_batches_tracked: layer1.0.conv1.weight:64x64x1x1 layer1.0.bn1.weight:64 layer1.0.bn1.bias:64
layer1.0.bn1.running_mean:64 layer1.0.bn1.running_var:64 layer1.0.bn1.num_batches_tracked:
layer1.0.conv2.weight:64x64x3x3 layer1.0.bn2.weight:64 layer1.0.bn2.bias:64 layer1.0.bn2.running_mean:64
layer1.0.bn2.running_var:64 layer1.0.bn2.num_batches_tracked: layer1.0.conv3.weight:256x64x1x1
layer1.0.bn3.weight:256 layer1.0.bn3.bias:256 layer1.0.bn3.running_mean:256 layer1.0.bn3.running_var:256
layer1.0.bn3.num_batches_tracked: layer1.0.downsample.0.weight:256x64x1x1 layer1.0.downsample.1.weight:256
layer1.0.downsample.1.bias:256 layer1.0.downsample.1.running_mean:256 layer1.0.downsample.1.running_var:256
layer1.0.downsample.1.num_batches_tracked: layer1.1.conv1.weight:64x256x1x1 layer1.1.bn1.weight:64
layer1.1.bn1.bias:64 layer1.1.bn1.running_mean:64 layer1.1.bn1.running_var:64
layer1.1.bn1.num_batches_tracked: layer1.1.conv2.weight:64x64x3x3 layer1.1.bn2.weight:64
layer1.1.bn2.bias:64 layer1.1.bn2.running_mean:64 layer1.1.bn2.running_var:64
layer1.1.bn2.num_batches_tracked: layer1.1.conv3.weight:256x64x1x1 layer1.1.bn3.weight:256
layer1.1.bn3.bias:256 layer1.1.bn3.running_mean:256 layer1.1.bn3.running_var:256
layer1.1.bn3.num_batches_tracked: layer1.2.conv1.weight:64x256x1x1 layer1.2.bn1.weight:64
layer1.2.bn1.bias:64 layer1.2.bn1.running_mean:64 layer1.2.bn1.running_var:64
layer1.2.bn1.num_batches_tracked: layer1.2.conv2.weight:64x64x3x3 layer1.2.bn2.weight:64
layer1.2.bn2.bias:64 layer1.2.bn2.running_mean:64 layer1.2.bn2.running_var:64
layer1.2.bn2.num_batches_tracked: layer1.2.conv3.weight:256x64x1x1 layer1.2.bn3.weight:256
layer1.2.bn3.bias:256 layer1.2.bn3.running_mean:256 layer1.2.bn3.running_var:256
layer1.2.bn3.num_batches_tracked: layer2.0.conv1.weight:128x256x1x1 layer2.0.bn1.weight:128
layer2.0.bn1.bias:128 layer2.0.bn1.running_mean:128 layer2.0.bn1.running_var:128
layer2.0.bn1.num_batches_tracked: layer2.0.conv2.weight:128x128x3x3 layer2.0.bn2.weight:128
layer2.0.bn2.bias:128 layer2.0.bn2.running_mean:128 layer2.0.bn2.running_var:128
layer2.0.bn2.num_batches_tracked: layer2.0.conv3.weight:512x128x1x1 layer2.0.bn3.weight:512
layer2.0.bn3.bias:512 layer2.0.bn3.running_mean:512 layer2.0.bn3.running_var:512
layer2.0.bn3.num_batches_tracked: layer2.0.downsample.0.weight:512x256x1x1 layer2.0.downsample.1.weight:512
layer2.0.downsample.1.bias:512 layer2.0.downsample.1.running_mean:512 layer2.0.downsample.1.running_var:512
layer2.0.downsample.1.num_batches_tracked: layer2.1.conv1.weight:128x512x1x1 layer2.1.bn1.weight:128
layer2.1.bn1.bias:128 layer2.1.bn1.running_mean:128 layer2.1.bn1.running_var:128
layer2.1.bn1.num_batches_tracked: layer2.1.conv2.weight:128x128x3x3 layer2.1.bn2.weight:128
layer2.1.bn2.bias:128 layer2.1.bn2.running_mean:128 layer2.1.bn2.running_var:128
layer2.1.bn2.num_batches_tracked: layer2.1.conv3.weight:512x128x1x1 layer2.1.bn3.weight:512
layer2.1.bn3.bias:512 layer2.1.bn3.running_mean:512 layer2.1.bn3.running_var:512
layer2.1.bn3.num_batches_tracked: layer2.2.conv1.weight:128x512x1x1 layer2.2.bn1.weight:128
layer2.2.bn1.bias:128 layer2.2.bn1.running_mean:128 layer2.2.bn1.running_var:128
layer2.2.bn1.num_batches_tracked: layer2.2.conv2.weight:128x128x3x3 layer2.2.bn2.weight:128
layer2.2.bn2.bias:128 layer2.2.bn2.running_mean:128 layer2.2.bn2.running_var:128
layer2.2.bn2.num_batches_tracked: layer2.2.conv3.weight:512x128x1x1 layer2.2.bn3.weight:512
layer2.2.bn3.bias:512 layer2.2.bn3.running_mean:512 layer2.2.bn3.running_var:512
layer2.2.bn3.num_batches_tracked: layer2.3.conv1.weight:128x512x1x1 layer2.3.bn1.weight:128
layer2.3.bn1.bias:128 layer2.3.bn1.running_mean:128 layer2.3.bn1.running_var:128
layer2.3.bn1.num_batches_tracked: layer2.3.conv2.weight:128x128x3x3 layer2.3.bn2.weight:128
layer2.3.bn2.bias:128 layer2.3.bn2.running_mean:128 layer2.3.bn2.running_var:128
layer2.3.bn2.num_batches_tracked: layer2.3.conv3.weight:512x128x1x1 layer2.3.bn3.weight:512
layer2.3.bn3.bias:512 layer2.3.bn3.running_mean:512 layer2.3.bn3.running_var:512
layer2.3.bn3.num_batches_tracked: layer3.0.conv1.weight:256x512x1x1 layer3.0.bn1.weight:256
layer3.0.bn1.bias:256 layer3.0.bn1.running_mean:256 layer3.0.bn1.running_var:256
layer3.0.bn1.num_batches_tracked: layer3.0.conv2.weight:256x256x3x3 layer3.0.bn2.weight:256
layer3.0.bn2.bias:256 layer3.0.bn2.running_mean:256 layer3.0.bn2.running_var:256
layer3.0.bn2.num_batches_tracked: layer3.0.conv3.weight:1024x256x1x1 layer3.0.bn3.weight:1024
layer3.0.bn3.bias:1024 layer3.0.bn3.running_mean:1024 layer3.0.bn3.running_var:1024
layer3.0.bn3.num_batches_tracked: layer3.0.downsample.0.weight:1024x512x1x1
layer3.0.downsample.1.weight:1024 layer3.0.downsample.1.bias:1024 layer3.0.downsample.1.running_mean:1024
layer3.0.downsample.1.running_var:1024 layer3.0.downsample.1.num_batches_tracked:
layer3.1.conv1.weight:256x1024x1x1 layer3.1.bn1.weight:256 layer3.1.bn1.bias:256
layer3.1.bn1.running_mean:256 layer3.1.bn1.running_var:256 layer3.1.bn1.num_batches_tracked:
layer3.1.conv2.weight:256x256x3x3 layer3.1.bn2.weight:256 layer3.1.bn2.bias:256
layer3.1.bn2.running_mean:256 layer3.1.bn2.running_var:256 layer3.1.bn2.num_batches_tracked:
layer3.1.conv3.weight:1024x256x1x1 layer3.1.bn3.weight:1024 layer3.1.bn3.bias:1024
layer3.1.bn3.running_mean:1024 layer3.1.bn3.running_var:1024 layer3.1.bn3.num_batches_tracked:
layer3.2.conv1.weight:256x1024x1x1 layer3.2.bn1.weight:256 layer3.2.bn1.bias:256
layer3.2.bn1.running_mean:256 layer3.2.bn1.running_var:256 layer3.2.bn1.num_batches_tracked:
layer3.2.conv2.weight:256x256x3x3 layer3.2.bn2.weight:256 layer3.2.bn2.bias:256
layer3.2.bn2.running_mean:256 layer3.2.bn2.running_var:256 layer3.2.bn2.num_batches_tracked:
layer3.2.conv3.weight:1024x256x1x1 layer3.2.bn3.weight:1024 layer3.2.bn3.bias:1024
layer3.2.bn3.running_mean:1024 layer3.2.bn3.running_var:1024 layer3.2.bn3.num_batches_tracked:
layer3.3.conv1.weight:256x1024x1x1 layer3.3.bn1.weight:256 layer3.3.bn1.bias:256
layer3.3.bn1.running_mean:256 layer3.3.bn1.running_var:256 layer3.3.bn1.num_batches_tracked:
layer3.3.conv2.weight:256x256x3x3 layer3.3.bn2.weight:256 layer3.3.bn2.bias:256
layer3.3.bn2.running_mean:256 layer3.3.bn2.running_var:256 layer3.3.bn2.num_batches_tracked:
layer3.3.conv3.weight:1024x256x1x1 layer3.3.bn3.weight:1024 layer3.3.bn3.bias:1024
layer3.3.bn3.running_mean:1024 layer3.3.bn3.running_var:1024 layer3.3.bn3.num_batches_tracked:
layer3.4.conv1.weight:256x1024x1x1 layer3.4.bn1.weight:256 layer3.4.bn1.bias:256
layer3.4.bn1.running_mean:256 layer3.4.bn1.running_var:256 layer3.4.bn1.num_batches_tracked:
layer3.4.conv2.weight:256x256x3x3 layer3.4.bn2.weight:256 layer3.4.bn2.bias:256
layer3.4.bn2.running_mean:256 layer3.4.bn2.running_var:256 layer3.4.bn2.num_batches_tracked:
layer3.4.conv3.weight:1024x256x1x1 layer3.4.bn3.weight:1024 layer3.4.bn3.bias:1024
layer3.4.bn3.running_mean:1024 layer3.4.bn3.running_var:1024 layer3.4.bn3.num_batches_tracked:
layer3.5.conv1.weight:256x1024x1x1 layer3.5.bn1.weight:256 layer3.5.bn1.bias:256
layer3.5.bn1.running_mean:256 layer3.5.bn1.running_var:256 layer3.5.bn1.num_batches_tracked:
layer3.5.conv2.weight:256x256x3x3 layer3.5.bn2.weight:256 layer3.5.bn2.bias:256
layer3.5.bn2.running_mean:256 layer3.5.bn2.running_var:256 layer3.5.bn2.num_batches_tracked:
layer3.5.conv3.weight:1024x256x1x1 layer3.5.bn3.weight:1024 layer3.5.bn3.bias:1024
layer3.5.bn3.running_mean:1024 layer3.5.bn3.running_var:1024 layer3.5.bn3.num_batches_tracked:
layer4.0.conv1.weight:512x1024x1x1 layer4.0.bn1.weight:512 layer4.0.bn1.bias:512
layer4.0.bn1.running_mean:512 layer4.0.bn1.running_var:512 layer4.0.bn1.num_batches_tracked:
layer4.0.conv2.weight:512x512x3x3 layer4.0.bn2.weight:512 layer4.0.bn2.bias:512
layer4.0.bn2.running_mean:512 layer4.0.bn2.running_var:512 layer4.0.bn2.num_batches_tracked:
layer4.0.conv3.weight:2048x512x1x1 layer4.0.bn3.weight:2048 layer4.0.bn3.bias:2048
layer4.0.bn3.running_mean:2048 layer4.0.bn3.running_var:2048 layer4.0.bn3.num_batches_tracked:
layer4.0.downsample.0.weight:2048x1024x1x1 layer4.0.downsample.1.weight:2048 layer4.0.downsample.1.bias:2048
layer4.0.downsample.1.running_mean:2048 layer4.0.downsample.1.running_var:2048
layer4.0.downsample.1.num_batches_tracked: layer4.1.conv1.weight:512x2048x1x1 layer4.1.bn1.weight:512
layer4.1.bn1.bias:512 layer4.1.bn1.running_mean:512 layer4.1.bn1.running_var:512
layer4.1.bn1.num_batches_tracked: layer4.1.conv2.weight:512x512x3x3 layer4.1.bn2.weight:512
layer4.1.bn2.bias:512 layer4.1.bn2.running_mean:512 layer4.1.bn2.running_var:512
layer4.1.bn2.num_batches_tracked: layer4.1.conv3.weight:2048x512x1x1 layer4.1.bn3.weight:2048
layer4.1.bn3.bias:2048 layer4.1.bn3.running_mean:2048 layer4.1.bn3.running_var:2048
layer4.1.bn3.num_batches_tracked: layer4.2.conv1.weight:512x2048x1x1 layer4.2.bn1.weight:512
layer4.2.bn1.bias:512 layer4.2.bn1.running_mean:512 layer4.2.bn1.running_var:512
layer4.2.bn1.num_batches_tracked: layer4.2.conv2.weight:512x512x3x3 layer4.2.bn2.weight:512
layer4.2.bn2.bias:512 layer4.2.bn2.running_mean:512 layer4.2.bn2.running_var:512
layer4.2.bn2.num_batches_tracked: layer4.2.conv3.weight:2048x512x1x1 layer4.2.bn3.weight:2048
layer4.2.bn3.bias:2048 layer4.2.bn3.running_mean:2048 layer4.2.bn3.running_var:2048
layer4.2.bn3.num_batches_tracked: fc.weight:10x2048 fc.bias:10
]]

-- Parse "key:AxBxC ..." into an ordered list of {key, shape}.
local function parse(spec)
    local out = {}
    for item in spec:gmatch('%S+') do
        local k, s = item:match('^(.-):(.*)$')
        local shape = {}
        for d in s:gmatch('%d+') do shape[#shape + 1] = tonumber(d) end
        out[#out + 1] = {k, shape}
    end
    return out
end

-- torchvision's shapes at width 64 scaled to width w: channel sizes are the multiples of 64.
local function scaled(shape, w)
    local out = {}
    for i, d in ipairs(shape) do out[i] = (d >= 64 and d % 64 == 0) and d * w // 64 or d end
    return out
end

local function check_against_torchvision(model, spec, width)
    local sd, keys = model:state_dict_keys()
    local want = parse(spec)
    local want_keys = {}
    for i, e in ipairs(want) do want_keys[i] = e[1] end
    lu.assertEquals(keys, want_keys)
    local n = 0
    for _, e in ipairs(want) do
        lu.assertEquals(sd[e[1]]:shape(), scaled(e[2], width), e[1])
        n = n + 1
    end
    for k in pairs(sd) do n = n - 1 end
    lu.assertEquals(n, 0)
    lu.assertEquals(sd['bn1.num_batches_tracked']:dtype(), 'int64')
    lu.assertEquals(sd['bn1.num_batches_tracked']:dim(), 0)
end

TestResNet = {}

function TestResNet:setUp() sslab.manual_seed(7) end

function TestResNet:testResnet18Names()
    check_against_torchvision(nn.resnet18{width = 8, num_classes = 10}, TV_RESNET18, 8)
    -- the CIFAR stem has the same names (no max-pool parameters), with a 3x3 conv1
    local c = nn.resnet18{width = 8, num_classes = 10, stem = 'cifar'}
    local sd = c:state_dict()
    lu.assertEquals(sd['conv1.weight']:shape(), {8, 3, 3, 3})
    lu.assertNil(c.maxpool)
end

function TestResNet:testResnet50Names()
    local m = nn.resnet50{width = 8, num_classes = 10}
    check_against_torchvision(m, TV_RESNET50, 8)
    lu.assertEquals(m.feature_dim, 256)
    local enc = nn.resnet50{width = 4, stem = 'cifar', in_channels = 1}
    lu.assertEquals(enc:forward(sslab.randn(2, 1, 8, 8)):shape(), {2, 128})
    lu.assertNil(enc:state_dict()['fc.weight'])
end

function TestResNet:testFullSizeCountAndInit()
    local m = nn.resnet18{num_classes = 10}
    lu.assertEquals(m:num_parameters(), 11181642) -- torchvision resnet18(num_classes=10)
    lu.assertEquals(m.flat_params:numel(), 11181642)
    local conv = m.layer4.modules[2].branch.conv2.weight
    local std = math.sqrt(2 / (512 * 9))                -- kaiming normal, fan_out, relu
    lu.assertAlmostEquals(conv:std(), std, 0.03 * std)
    lu.assertAlmostEquals(conv:mean(), 0, 0.03 * std)
    local bound = 1 / math.sqrt(512)
    lu.assertTrue(m.fc.weight:abs():max() <= bound)
    lu.assertTrue(m.fc.weight:abs():max() > 0.9 * bound)
    lu.assertEquals(m.bn1.weight:min(), 1)
    lu.assertEquals(m.bn1.bias:abs():max(), 0)
    lu.assertStrContains(tostring(m), 'ResNet(resnet18, stem imagenet, width 64, 10 classes) (11,181,642 parameters) {')
end

function TestResNet:testOptions()
    local m = nn.resnet18{width = 4, stem = 'cifar', zero_init_residual = true, bn_splits = 2, rng = sslab.Generator(5)}
    local same = nn.resnet18{width = 4, stem = 'cifar', zero_init_residual = true, bn_splits = 2, rng = sslab.Generator(5)}
    lu.assertEquals((m.flat_params - same.flat_params):abs():max(), 0) -- seeded generator: reproducible
    for _, nm in ipairs(m:named_modules()) do
        local name, mod = nm[1], nm[2]
        if name:match('%.bn2$') then lu.assertEquals(mod.weight:abs():max(), 0, name) end
        if mod.groups then lu.assertEquals(mod.groups, 2, name) end
    end
    lu.assertEquals(m:forward(sslab.randn(4, 3, 8, 8)):shape(), {4, 32})
    lu.assertErrorMsgContains('groups 2 must be >= 1 and divide the batch size 3',
                              function() m:forward(sslab.randn(3, 3, 8, 8)) end)
    m:evaluate()
    lu.assertEquals(m:forward(sslab.randn(3, 3, 8, 8)):shape(), {3, 32}) -- evaluation: running statistics
    lu.assertErrorMsgContains("resnet18: unknown option 'widht'", function() nn.resnet18{widht = 4} end)
    lu.assertErrorMsgContains("stem must be 'imagenet' or 'cifar'", function() nn.resnet18{stem = 'tiny'} end)
    local z = nn.resnet50{width = 4, zero_init_residual = true}
    lu.assertEquals(z.layer3.modules[1].branch.bn3.weight:abs():max(), 0)
end

function TestResNet:testLoadStateDict()
    local a = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    local b = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    a:forward(sslab.randn(2, 3, 8, 8)) -- moves running stats and counters
    local sd = a:state_dict()
    b:load_state_dict(sd)
    for k, t in pairs(b:state_dict()) do
        lu.assertEquals((t:float() - sd[k]:float()):abs():max(), 0, k)
    end
    lu.assertEquals(b.bn1.num_batches_tracked:item(), 1)
    -- every problem in one message
    local bad = {}
    for k, t in pairs(sd) do bad[k] = t end
    bad['layer1.0.conv1.weight'] = nil
    bad['fc.bias'] = nil
    bad['head.weight'] = sslab.zeros(2)
    bad['fc.weight'] = sslab.zeros(4, 32)
    local ok, err = pcall(b.load_state_dict, b, bad)
    lu.assertFalse(ok)
    lu.assertStrContains(err, 'size mismatch for 1 key(s):\n    fc.weight: checkpoint [4x32], model [3x32]')
    lu.assertStrContains(err, 'missing 2 key(s):\n    layer1.0.conv1.weight\n    fc.bias')
    lu.assertStrContains(err, 'unexpected 1 key(s):\n    head.weight')
    -- non-strict: missing / unexpected are reported, shapes still checked
    bad['fc.weight'] = nil
    local missing, unexpected = b:load_state_dict(bad, {strict = false})
    lu.assertEquals(missing, {'layer1.0.conv1.weight', 'fc.weight', 'fc.bias'})
    lu.assertEquals(unexpected, {'head.weight'})
end

function TestResNet:testCheckpointRoundTrip()
    if not sslab.save then lu.skip('sslab.save not available') end
    local a = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    a:forward(sslab.randn(2, 3, 8, 8))
    local path = string.format('%s/sslab_nn_%d.safetensors', os.getenv('TMPDIR') or '/tmp', math.random(1, 1e9))
    lu.assertTrue(sslab.save(path, (a:state_dict())))
    local loaded = sslab.load(path)
    os.remove(path)
    local b = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    b:load_state_dict(loaded)
    local x = sslab.randn(2, 3, 8, 8)
    a:evaluate()
    b:evaluate()
    lu.assertEquals((a:forward(x) - b:forward(x)):abs():max(), 0)
    lu.assertEquals(b.bn1.num_batches_tracked:item(), 1)
end

function TestResNet:testFlatParameters()
    local m = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    local same = nn.kernels.same_storage
    local flat, gflat = m.flat_params, m.flat_grads
    lu.assertEquals(flat:numel(), m:num_parameters())
    local off = 0
    for _, r in ipairs(m.flat_layout) do
        local s, poff, foff = same(r.param, flat)
        lu.assertTrue(s, r.name)
        lu.assertEquals(poff, off, r.name)
        lu.assertTrue((same(r.grad, gflat)), r.name)
        off = off + r.param:numel()
    end
    flat:fill_(0.5)
    lu.assertEquals(m.conv1.weight:min(), 0.5)
    lu.assertEquals(m.fc.bias:max(), 0.5)
    m.layer2.modules[1].branch.bn1.weight:fill_(3)
    lu.assertEquals(flat:max(), 3)
    -- gradients accumulate into the flat buffer; zero_grad clears it in one call
    -- (random weights first: with every weight equal, symmetry makes conv1's gradient
    -- exactly zero in some builds and rounding noise in others)
    flat:normal_(0, 0.2, sslab.Generator(1))
    local x = sslab.randn(2, 3, 8, 8)
    m:forward(x)
    m:backward(x, sslab.ones(2, 3))
    lu.assertTrue(gflat:abs():sum() > 0)
    lu.assertTrue(m.fc.grad_weight:abs():sum() > 0)
    m:zero_grad()
    lu.assertEquals(gflat:abs():max(), 0)
    -- the first conv may skip its input gradient (nothing before it needs one)
    m.conv1.no_grad_input = true
    m:forward(x)
    lu.assertNil(m:backward(x, sslab.ones(2, 3)))
    lu.assertTrue(m.conv1.grad_weight:abs():sum() > 0)
    m.conv1.no_grad_input = nil
    m:zero_grad()
    -- momentum-encoder update on whole flat tensors
    local k = m:clone()
    lu.assertFalse(k.flat_params == m.flat_params)
    m.flat_params:fill_(1)
    k.flat_params:fill_(0)
    sslab.optim.ema_(k.flat_params, m.flat_params, 0.9)
    lu.assertAlmostEquals(k.conv1.weight:max(), 0.1, 1e-6)
    lu.assertAlmostEquals(k.fc.bias:min(), 0.1, 1e-6)
    -- a container over a flattened model takes its parameters over
    local head = nn.Linear(32, 2)
    local enc = nn.resnet18{width = 4, stem = 'cifar'}
    local whole = nn.Sequential():add(enc, 'encoder'):add(head, 'head')
    whole:flatten_parameters()
    lu.assertNil(enc.flat_params)
    lu.assertTrue((same(enc.conv1.weight, whole.flat_params)))
    lu.assertTrue((same(head.weight, whole.flat_params)))
    lu.assertEquals(whole:state_dict()['encoder.layer1.0.conv1.weight']:shape(), {4, 4, 3, 3})
end

function TestResNet:testSteadyStateAllocatesNothing()
    local m = nn.resnet18{width = 4, stem = 'cifar', num_classes = 3}
    local crit = nn.CrossEntropy({label_smoothing = 0.1})
    local opt = sslab.optim.SGD(m, {lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-4,
                                    exclude_from_weight_decay = {'bn', 'bias'}})
    local x, t = sslab.randn(4, 3, 8, 8), sslab.tensor({1, 2, 3, 1}, 'int64')
    local function step()
        m:zero_grad()
        local y = m:forward(x)
        crit:forward(y, t)
        m:backward(x, crit:backward(y, t))
        opt:step(0.05)
    end
    step()
    collectgarbage('collect')
    collectgarbage('stop')
    local before, allocs = sslab.memory_in_use(), sslab.allocations()
    step()
    step()
    local after, allocs_after = sslab.memory_in_use(), sslab.allocations()
    collectgarbage('restart')
    lu.assertEquals(after - before, 0)
    lu.assertEquals(allocs_after - allocs, 0, 'C allocations in a steady-state training step')
end

-- {======================================================================
-- a tiny supervised run on synthetic images whose class is visible
-- =======================================================================

-- N images [N x 3 x 12 x 12], K = 4 classes: a bright bar in a class-specific place and
-- colour (1: red horizontal top, 2: green vertical left, 3: blue horizontal bottom,
-- 4: all channels vertical right), on noise, at a random offset of up to 2 pixels.
local function synthetic(N, gen)
    local x = sslab.randn(N, 3, 12, 12, gen) * 0.5
    local y = sslab.zeros({N}, 'int64')
    for i = 1, N do
        local c = gen:random(4)
        y[i] = c
        local img = x:select(1, i)
        local o = gen:random(3) - 1
        if c == 1 then
            img:select(1, 1):narrow(1, 1 + o, 3):add_(1.5)
        elseif c == 2 then
            img:select(1, 2):narrow(2, 1 + o, 3):add_(1.5)
        elseif c == 3 then
            img:select(1, 3):narrow(1, 8 + o, 3):add_(1.5)
        else
            img:narrow(3, 8 + o, 3):add_(1.0)
        end
    end
    return x, y
end

function TestResNet:testTinySupervisedRun()
    local gen = sslab.Generator(2024)
    local xtrain, ytrain = synthetic(256, gen)
    local xtest, ytest = synthetic(128, gen)
    local K, B = 4, 32
    local model = nn.resnet18{stem = 'cifar', width = 8, num_classes = K, rng = gen}
    local crit = nn.CrossEntropy()
    local steps_per_epoch = 256 // B
    local epochs = 3
    local lr = sslab.schedule.warmup(sslab.schedule.cosine(0.1, steps_per_epoch * epochs - 2), 2)
    local opt = sslab.optim.SGD(model, {lr = 0.1, momentum = 0.9, weight_decay = 5e-4,
                                        exclude_from_weight_decay = {'bn', 'bias'}})
    local first, last = {}, {}
    local step = 0
    for epoch = 1, epochs do
        local perm = sslab.randperm(256, gen)
        for s = 1, steps_per_epoch do
            local idx = perm:narrow(1, (s - 1) * B + 1, B)
            local x, y = xtrain:index_select(1, idx), ytrain:index_select(1, idx)
            model:zero_grad()
            local out = model:forward(x)
            local loss = crit:forward(out, y)
            model:backward(x, crit:backward(out, y))
            opt:step(lr(step))
            step = step + 1
            if epoch == 1 then first[#first + 1] = loss else last[#last + 1] = loss end
        end
    end
    local function mean(t)
        local s = 0
        for _, v in ipairs(t) do s = s + v end
        return s / #t
    end
    local l0, l1 = mean({first[1], first[2], first[3]}), mean({last[#last - 2], last[#last - 1], last[#last]})
    lu.assertTrue(l1 < 0.5 * l0, string.format('loss did not fall: %.3f -> %.3f', l0, l1))
    model:evaluate()
    local pred = model:forward(xtest):argmax(2)
    local correct = 0
    for i = 1, 128 do
        if pred:view(-1)[i] == ytest[i] then correct = correct + 1 end
    end
    local acc = correct / 128
    if os.getenv('SSLAB_TEST_VERBOSE') then print(string.format('loss %.3f -> %.3f, accuracy %.2f', l0, l1, acc)) end
    lu.assertTrue(acc > 0.6, string.format('test accuracy %.2f (chance 0.25)', acc))
end

-- }======================================================================

os.exit(lu.LuaUnit.run())
