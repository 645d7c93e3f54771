-- ResNets as torchvision builds them: sslab.nn.resnet18 / resnet34 / resnet50.
--
--   local net = nn.resnet18{stem = 'cifar', width = 64, num_classes = 10}
--   local enc = nn.resnet50{}                     -- no num_classes: encoder, h = [N x 2048]
--
-- Options (unknown keys are an error):
--   in_channels (3)         input channels
--   stem ('imagenet')       'imagenet': 7x7/2 conv + BN + ReLU + 3x3/2 max-pool; 'cifar': 3x3/1 conv + BN + ReLU
--   width (64)              stage widths width x {1, 2, 4, 8}; bottleneck blocks expand by 4 (resnet50)
--   num_classes (nil)       adds fc = Linear(features, num_classes); nil: the model returns the pooled h [N x C]
--   zero_init_residual (false)  last BN of every block starts with gamma = 0
--   bn_splits (1)           BatchNorm statistics per group of N/bn_splits samples (shuffle-BN emulation)
--   bn_interleaved (false)  groups by n % bn_splits instead of contiguous blocks
--   bn_momentum (0.1), bn_eps (1e-5)
--   rng (default generator) an sslab.Generator for the initialisation
--   flatten (true)          flatten_parameters() at construction (model.flat_params / flat_grads)
--   channels_last (true)    activations laid out channels last ([N x H x W x C] in memory, PyTorch's
--                           channels_last): the stem conv converts, every later layer follows. Same
--                           results as channels first, faster (no layout transposes inside the
--                           convolutions, 1x1 convolutions are plain GEMMs); the input and h are as usual.
-- Initialisation as torchvision: conv weights Kaiming-normal (fan_out, ReLU gain), BN gamma 1 / beta 0,
-- fc as PyTorch's Linear default. Parameter and buffer names match torchvision's state_dict keys.
-- The model is a Sequential with named children (conv1, bn1 (BatchNorm + ReLU), maxpool, layer1..4, avgpool, fc);
-- model.feature_dim is the width of h. All convolutions share one workspace.
-- nn.basic_block(cin, planes, stride, opts) / nn.bottleneck_block(...) build one block alone.
local Module = require 'sslab.nn.module'
local containers = require 'sslab.nn.containers'
local Conv2d = require 'sslab.nn.conv'
local bn = require 'sslab.nn.batchnorm'
local pool = require 'sslab.nn.pool'
local Linear = require 'sslab.nn.linear'

local Sequential, Residual = containers.Sequential, containers.Residual

local ResNet = Sequential:extend('ResNet')

local defaults = {
    in_channels = 3, stem = 'imagenet', width = 64, num_classes = false, zero_init_residual = false, bn_splits = 1,
    bn_interleaved = false, bn_momentum = 0.1, bn_eps = 1e-5, rng = false, flatten = true, channels_last = true,
}

local function options(opts, name)
    opts = opts or {}
    local o = {}
    for k, v in pairs(opts) do
        if defaults[k] == nil then
            local known = {}
            for kk in pairs(defaults) do known[#known + 1] = kk end
            table.sort(known)
            error(string.format("%s: unknown option '%s' (known: %s)", name, tostring(k), table.concat(known, ', ')), 3)
        end
        o[k] = v
    end
    for k, v in pairs(defaults) do
        if o[k] == nil then o[k] = v end
    end
    if o.stem ~= 'imagenet' and o.stem ~= 'cifar' then
        error(string.format("%s: stem must be 'imagenet' or 'cifar', got %s", name, tostring(o.stem)), 3)
    end
    if o.rng == false then o.rng = nil end
    if o.num_classes == false then o.num_classes = nil end
    return o
end

local function conv(o, cin, cout, k, stride)
    local c = Conv2d(cin, cout, k, {stride = stride, padding = (k - 1) // 2, bias = false})
    c.weight:normal_(0, math.sqrt(2 / (cout * k * k)), o.rng) -- kaiming_normal_, fan_out, relu
    return c
end

-- relu: the ReLU that follows in torchvision's block, fused into the BatchNorm (one pass
-- over the activations instead of two, forward and backward; same results).
local function norm(o, c, relu)
    return bn.BatchNorm2d(c, {eps = o.bn_eps, momentum = o.bn_momentum, groups = o.bn_splits,
                              interleaved = o.bn_interleaved, relu = relu})
end

local function downsample(o, cin, cout, stride)
    if stride == 1 and cin == cout then return nil end
    return Sequential():add(conv(o, cin, cout, 1, stride)):add(norm(o, cout))
end

-- BasicBlock: conv3x3(stride) - BN+ReLU - conv3x3 - BN, + shortcut, ReLU.
local function basic_block(o, cin, planes, stride)
    local branch = Sequential()
        :add(conv(o, cin, planes, 3, stride), 'conv1'):add(norm(o, planes, true), 'bn1')
        :add(conv(o, planes, planes, 3, 1), 'conv2'):add(norm(o, planes), 'bn2')
    if o.zero_init_residual then branch.bn2.weight:zero_() end
    return Residual(branch, downsample(o, cin, planes, stride), {relu = true, label = 'BasicBlock'}), planes
end

-- Bottleneck (torchvision v1.5: stride on the 3x3): 1x1 - 3x3(stride) - 1x1 (x4), + shortcut, ReLU
-- (the ReLUs after bn1 and bn2 fused into them).
local function bottleneck(o, cin, planes, stride)
    local out = planes * 4
    local branch = Sequential()
        :add(conv(o, cin, planes, 1, 1), 'conv1'):add(norm(o, planes, true), 'bn1')
        :add(conv(o, planes, planes, 3, stride), 'conv2'):add(norm(o, planes, true), 'bn2')
        :add(conv(o, planes, out, 1, 1), 'conv3'):add(norm(o, out), 'bn3')
    if o.zero_init_residual then branch.bn3.weight:zero_() end
    return Residual(branch, downsample(o, cin, out, stride), {relu = true, label = 'Bottleneck'}), out
end

local function build(name, block, layers, opts)
    local o = options(opts, name)
    local self = Module.init(ResNet)
    self.modules, self.child_names = {}, {}
    self.arch, self.options = name, o
    local w = o.width
    if o.stem == 'imagenet' then
        self:add(conv(o, o.in_channels, w, 7, 2), 'conv1')
    else
        self:add(conv(o, o.in_channels, w, 3, 1), 'conv1')
    end
    self.conv1.channels_last = o.channels_last
    self:add(norm(o, w, true), 'bn1')
    if o.stem == 'imagenet' then self:add(pool.MaxPool2d(3, {stride = 2, padding = 1}), 'maxpool') end
    local cin = w
    for stage = 1, 4 do
        local planes, stride = w * (1 << (stage - 1)), stage == 1 and 1 or 2
        local layer = Sequential()
        for b = 1, layers[stage] do
            local blk
            blk, cin = block(o, cin, planes, b == 1 and stride or 1)
            layer:add(blk)
        end
        self:add(layer, 'layer' .. stage)
    end
    self:add(pool.GlobalAvgPool(), 'avgpool')
    self.feature_dim = cin
    if o.num_classes then self:add(Linear(cin, o.num_classes, {rng = o.rng}), 'fc') end
    self:share_workspace()
    if o.flatten then self:flatten_parameters() end
    return self
end

function ResNet:describe()
    return string.format('ResNet(%s, stem %s, width %d%s)', self.arch, self.options.stem, self.options.width,
                         self.options.num_classes and (', ' .. self.options.num_classes .. ' classes') or '')
end

local M = {ResNet = ResNet}
function M.resnet18(opts) return build('resnet18', basic_block, {2, 2, 2, 2}, opts) end
function M.resnet34(opts) return build('resnet34', basic_block, {3, 4, 6, 3}, opts) end
function M.resnet50(opts) return build('resnet50', bottleneck, {3, 4, 6, 3}, opts) end

--- A lone block, built as inside the ResNets (names as torchvision's BasicBlock / Bottleneck: conv1, bn1, ...,
--- downsample.0 / downsample.1 when stride ~= 1 or the widths differ). opts: the ResNet options (those that
--- matter: bn_*, zero_init_residual, rng). Returns the block (an nn.Residual, not flattened) and its output
--- channels (planes; planes * 4 for the bottleneck). E.g. nn.bottleneck_block(16, 8, 2) = Bottleneck(16, 8, 2, ds).
function M.basic_block(cin, planes, stride, opts)
    return basic_block(options(opts, 'basic_block'), cin, planes, stride or 1)
end
function M.bottleneck_block(cin, planes, stride, opts)
    return bottleneck(options(opts, 'bottleneck_block'), cin, planes, stride or 1)
end
return M
