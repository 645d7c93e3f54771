-- sslab.nn.Normalize: y = x / max(||x||_2, eps) along the last dim of [N x D] (F.normalize(x, dim=1)).
--
--   nn.Normalize()               -- eps 1e-12
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local Normalize = Module:extend('Normalize')

function Normalize.new(opts)
    local self = Module.init(Normalize)
    self.eps = opts and opts.eps or 1e-12
    return self
end

function Normalize:describe() return string.format('Normalize(eps %g)', self.eps) end

function Normalize:forward(x)
    if x:dim() ~= 2 then error('Normalize: input must be [N x D], got ' .. util.shape_str(x), 2) end
    x = util.contiguous(self, '_tmp_x', x)
    self.output = util.like(self.output, x)
    knn.l2norm_forward(x, self.output, self.eps)
    return self.output
end

function Normalize:backward(x, grad_out)
    x = x:is_contiguous() and x or self._tmp_x
    grad_out = util.contiguous(self, '_tmp_gy', grad_out)
    self.grad_input = util.like(self.grad_input, x)
    knn.l2norm_backward(x, grad_out, self.grad_input, self.eps)
    return self.grad_input
end

return {Normalize = Normalize}
