-- Loss criteria: sslab.nn.CrossEntropy and sslab.nn.MSE (mean reduction).
--
--   local crit = nn.CrossEntropy({label_smoothing = 0.1})
--   local loss = crit:forward(logits, target)  -- logits [N x K], target int64 [N], classes 1..K
--   local dlogits = crit:backward(logits, target)
--
-- forward returns the loss as a Lua number; the kernel computes the gradient in the
-- same pass, and backward returns that buffer (call it after forward on the same input).
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local Criterion = Module:extend('Criterion')

local CrossEntropy = Criterion:extend('CrossEntropy')

function CrossEntropy.new(opts)
    local self = Module.init(CrossEntropy)
    self.label_smoothing = opts and opts.label_smoothing or 0
    return self
end

function CrossEntropy:describe()
    return self.label_smoothing ~= 0 and string.format('CrossEntropy(label_smoothing %g)', self.label_smoothing) or
           'CrossEntropy'
end

local function as_target(t)
    if core.is_tensor(t) then return t:dtype() == 'int64' and t or t:long() end
    return core.tensor(t, 'int64')
end

function CrossEntropy:forward(logits, target)
    if logits:dim() ~= 2 then error('CrossEntropy: logits must be [N x K], got ' .. util.shape_str(logits), 2) end
    logits = util.contiguous(self, '_tmp_x', logits)
    target = util.contiguous(self, '_tmp_t', as_target(target))
    local N = logits:size(1)
    self.grad_input = util.like(self.grad_input, logits)
    self._tmp_target0 = util.sized(self._tmp_target0, 'int64', N)
    self.output = knn.cross_entropy(logits, target, self.grad_input, self.label_smoothing, self._tmp_target0)
    return self.output
end

function CrossEntropy:backward(logits, target)
    return self.grad_input
end

local MSE = Criterion:extend('MSE')

function MSE.new() return Module.init(MSE) end

function MSE:forward(x, target)
    x = util.contiguous(self, '_tmp_x', x)
    target = util.contiguous(self, '_tmp_t', target)
    self.grad_input = util.like(self.grad_input, x)
    self.output = knn.mse(x, target, self.grad_input)
    return self.output
end

function MSE:backward(x, target)
    return self.grad_input
end

return {Criterion = Criterion, CrossEntropy = CrossEntropy, MSE = MSE}
