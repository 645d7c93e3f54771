-- sslab.nn.ReLU: y = max(x, 0).
--
--   nn.ReLU()                 -- own output buffer
--   nn.ReLU({inplace = true}) -- overwrites its input, and in backward its grad_output
--                             -- (safe when nothing else reads them, as inside a conv-BN-ReLU chain)
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local ReLU = Module:extend('ReLU')

function ReLU.new(opts)
    local self = Module.init(ReLU)
    self.inplace = (opts == true) or (type(opts) == 'table' and opts.inplace) or false
    return self
end

function ReLU:describe() return self.inplace and 'ReLU(inplace)' or 'ReLU' end

function ReLU:forward(x)
    if self.inplace and util.is_dense(x) then
        self.output = x
    else
        x = util.dense(self, '_tmp_x', x)
        self._tmp_out = util.like(self._tmp_out, x)
        self.output = self._tmp_out
    end
    knn.relu_forward(x, self.output)
    return self.output
end

function ReLU:backward(x, grad_out)
    grad_out = util.as_format(self, '_tmp_gy', grad_out, util.format(self.output))
    if self.inplace then
        self.grad_input = grad_out
    else
        self._tmp_gx = util.like(self._tmp_gx, grad_out)
        self.grad_input = self._tmp_gx
    end
    knn.relu_backward(self.output, grad_out, self.grad_input)
    return self.grad_input
end

return {ReLU = ReLU}
