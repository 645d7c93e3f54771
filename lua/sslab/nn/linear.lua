-- sslab.nn.Linear: y = x W^T + b, W [out x in] as PyTorch.
--
--   local fc = nn.Linear(512, 10)            -- x [N x 512] -> y [N x 10]
--
-- Options: bias (true), rng (generator). Initialisation as PyTorch's default:
-- weight and bias uniform(-1/sqrt(in), 1/sqrt(in)).
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local Linear = Module:extend('Linear')

function Linear.new(in_features, out_features, opts)
    opts = opts or {}
    local self = Module.init(Linear)
    assert(math.type(in_features) == 'integer' and in_features > 0, 'Linear: in_features must be a positive integer')
    assert(math.type(out_features) == 'integer' and out_features > 0, 'Linear: out_features must be a positive integer')
    self.in_features, self.out_features = in_features, out_features
    self:register_parameter('weight', core.empty(out_features, in_features), 'weight')
    if opts.bias ~= false then self:register_parameter('bias', core.empty(out_features), 'bias') end
    self:reset(opts.rng)
    return self
end

function Linear:reset(rng)
    local bound = 1 / math.sqrt(self.in_features)
    self.weight:uniform_(-bound, bound, rng)
    if self.bias then self.bias:uniform_(-bound, bound, rng) end
    return self
end

function Linear:describe()
    return string.format('Linear(%d, %d%s)', self.in_features, self.out_features, self.bias and '' or ', bias=false')
end

function Linear:forward(x)
    if x:dim() ~= 2 then error(string.format('Linear: input must be [N x %d], got %s', self.in_features,
                                             util.shape_str(x)), 2) end
    x = util.contiguous(self, '_tmp_x', x)
    self.output = util.sized(self.output, nil, x:size(1), self.out_features)
    knn.linear_forward(x, self.output, self.weight, self.bias)
    return self.output
end

function Linear:backward(x, grad_out)
    x = x:is_contiguous() and x or self._tmp_x
    grad_out = util.contiguous(self, '_tmp_gy', grad_out)
    local gx
    if not self.no_grad_input then
        self.grad_input = util.like(self.grad_input, x)
        gx = self.grad_input
    end
    knn.linear_backward(x, grad_out, self.weight, gx, self:grad_of('weight'),
                        self.bias and self:grad_of('bias') or nil)
    return gx
end

return Linear
