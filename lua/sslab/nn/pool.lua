-- sslab.nn.MaxPool2d and sslab.nn.GlobalAvgPool.
--
--   nn.MaxPool2d(3, {stride = 2, padding = 1})  -- [N x C x H x W] -> [N x C x OH x OW]
--   nn.GlobalAvgPool()                          -- [N x C x H x W] -> [N x C] (AdaptiveAvgPool2d(1) + flatten)
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local MaxPool2d = Module:extend('MaxPool2d')

function MaxPool2d.new(kernel, opts)
    opts = opts or {}
    local self = Module.init(MaxPool2d)
    assert(math.type(kernel) == 'integer' and kernel > 0, 'MaxPool2d: kernel must be a positive integer')
    self.kernel = kernel
    self.stride = opts.stride or kernel
    self.padding = opts.padding or opts.pad or 0
    return self
end

function MaxPool2d:describe()
    return string.format('MaxPool2d(kernel %d, stride %d, padding %d)', self.kernel, self.stride, self.padding)
end

function MaxPool2d:forward(x)
    if x:dim() ~= 4 then error('MaxPool2d: input must be [N x C x H x W], got ' .. util.shape_str(x), 2) end
    x = util.dense(self, '_tmp_x', x) -- channels first or last
    local N, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
    local OH, OW = knn.maxpool2d_geometry(N, C, H, W, self.kernel, self.stride, self.padding)
    local format = util.format(x)
    self._tmp_format = format
    self.output = util.sized_as(self.output, format, nil, N, C, OH, OW)
    self._tmp_indices = util.sized_as(self._tmp_indices, format, 'int64', N, C, OH, OW)
    knn.maxpool2d_forward(x, self.output, self._tmp_indices, self.kernel, self.stride, self.padding)
    return self.output
end

function MaxPool2d:backward(x, grad_out)
    local format = self._tmp_format
    grad_out = util.as_format(self, '_tmp_gy', grad_out, format)
    self.grad_input = util.like_as(self.grad_input, x, format)
    knn.maxpool2d_backward(grad_out, self._tmp_indices, self.grad_input, self.kernel, self.stride, self.padding)
    return self.grad_input
end

local GlobalAvgPool = Module:extend('GlobalAvgPool')

function GlobalAvgPool.new() return Module.init(GlobalAvgPool) end

function GlobalAvgPool:forward(x)
    if x:dim() ~= 4 then error('GlobalAvgPool: input must be [N x C x H x W], got ' .. util.shape_str(x), 2) end
    x = util.dense(self, '_tmp_x', x) -- channels first or last
    self._tmp_format = util.format(x)
    self.output = util.sized(self.output, nil, x:size(1), x:size(2))
    knn.global_avgpool_forward(x, self.output)
    return self.output
end

function GlobalAvgPool:backward(x, grad_out)
    grad_out = util.contiguous(self, '_tmp_gy', grad_out)
    self.grad_input = util.like_as(self.grad_input, x, self._tmp_format)
    knn.global_avgpool_backward(grad_out, self.grad_input)
    return self.grad_input
end

return {MaxPool2d = MaxPool2d, GlobalAvgPool = GlobalAvgPool}
