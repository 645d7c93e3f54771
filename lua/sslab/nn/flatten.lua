-- sslab.nn.Flatten: [N x d2 x d3 ...] -> [N x (d2*d3*...)] (a view when the input is contiguous).
-- Views are cached while the input tensor object stays the same (modules reuse their
-- output buffers), so steady-state training creates no new tensor headers.
local Module = require 'sslab.nn.module'
local util = Module.util

local Flatten = Module:extend('Flatten')

function Flatten.new() return Module.init(Flatten) end

function Flatten:forward(x)
    local xc = util.contiguous(self, '_tmp_x', x)
    if xc ~= self._tmp_src then
        self._tmp_src = xc
        self.output = xc:view(xc:size(1), -1)
    end
    return self.output
end

function Flatten:backward(x, grad_out)
    local gc = util.contiguous(self, '_tmp_gy', grad_out)
    if gc ~= self._tmp_gsrc or x ~= self._tmp_gshape_of then
        self._tmp_gsrc, self._tmp_gshape_of = gc, x
        self.grad_input = gc:view(x:size())
    end
    return self.grad_input
end

return {Flatten = Flatten}
