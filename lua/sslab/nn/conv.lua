-- sslab.nn.Conv2d: 2-D convolution (cross-correlation, as PyTorch), square stride and padding.
--
--   local conv = nn.Conv2d(3, 64, 3, {stride = 1, padding = 1, bias = false})
--   local y = conv:forward(x)              -- x [N x 3 x H x W] -> y [N x 64 x OH x OW]
--
-- Options: stride (1), padding (0; alias pad), bias (true), rng (an sslab.Generator for init),
-- channels_last (false): compute and output channels last even when the input is channels first
-- (a network's first convolution; later layers follow their input's layout, see nn/module.lua).
-- Initialisation as PyTorch's default: weight and bias uniform(-b, b), b = 1/sqrt(C*KH*KW).
-- The im2col workspace is a tensor in a holder table; Module:share_workspace() gives all
-- convolutions of a model one holder, grown to the largest need.
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local Conv2d = Module:extend('Conv2d')

function Conv2d.new(in_channels, out_channels, kernel, opts)
    opts = opts or {}
    local self = Module.init(Conv2d)
    local kh, kw = kernel, kernel
    if type(kernel) == 'table' then kh, kw = kernel[1], kernel[2] end
    assert(math.type(in_channels) == 'integer' and in_channels > 0, 'Conv2d: in_channels must be a positive integer')
    assert(math.type(out_channels) == 'integer' and out_channels > 0, 'Conv2d: out_channels must be a positive integer')
    assert(math.type(kh) == 'integer' and math.type(kw) == 'integer' and kh > 0 and kw > 0,
           'Conv2d: kernel must be a positive integer or {kh, kw}')
    self.in_channels, self.out_channels, self.kh, self.kw = in_channels, out_channels, kh, kw
    self.stride = opts.stride or 1
    self.padding = opts.padding or opts.pad or 0
    self.channels_last = opts.channels_last or false
    self:register_parameter('weight', core.empty(out_channels, in_channels, kh, kw), 'weight')
    if opts.bias ~= false then self:register_parameter('bias', core.empty(out_channels), 'bias') end
    self._workspace = {workspace_holder = true}
    self:reset(opts.rng)
    return self
end

--- PyTorch's default initialisation (kaiming_uniform with a = sqrt(5)).
function Conv2d:reset(rng)
    local bound = 1 / math.sqrt(self.in_channels * self.kh * self.kw)
    self.weight:uniform_(-bound, bound, rng)
    if self.bias then self.bias:uniform_(-bound, bound, rng) end
    return self
end

function Conv2d:describe()
    local k = self.kh == self.kw and tostring(self.kh) or (self.kh .. 'x' .. self.kw)
    return string.format('Conv2d(%d, %d, kernel %s, stride %d, padding %d%s)', self.in_channels, self.out_channels, k,
                         self.stride, self.padding, self.bias and '' or ', bias=false')
end

-- Geometry for x, recomputed only when the input shape or the memory format changes.
local function geometry(self, x, format)
    if x:dim() ~= 4 then
        error(string.format('Conv2d: input must be [N x C x H x W], got %s', util.shape_str(x)), 3)
    end
    local N, C, H, W = x:size(1), x:size(2), x:size(3), x:size(4)
    local g = self._tmp_geom
    local winograd = knn.conv2d_winograd() -- the workspace size depends on the algorithm
    if not (g and g.N == N and g.C == C and g.H == H and g.W == W and g.winograd == winograd and g.format == format) then
        if C ~= self.in_channels then
            error(string.format('Conv2d: input %s has %d channels, expected %d', util.shape_str(x), C,
                                self.in_channels), 3)
        end
        local OH, OW, ws = knn.conv2d_geometry(N, C, H, W, self.out_channels, self.kh, self.kw, self.stride,
                                               self.padding, format == 'channels_last')
        g = {N = N, C = C, H = H, W = W, OH = OH, OW = OW, ws = ws, winograd = winograd, format = format}
        self._tmp_geom = g
    end
    local holder = self._workspace
    if g.ws > 0 and (not holder.tensor or holder.tensor:numel() < g.ws) then holder.tensor = core.empty(g.ws) end
    return g
end

-- The layout to compute in: channels last when asked to or when the input is.
local function format_for(self, x)
    if self.channels_last and x:dim() == 4 then return 'channels_last' end
    return util.format(x)
end

function Conv2d:forward(x)
    local format = format_for(self, x)
    x = util.as_format(self, '_tmp_x', x, format)
    local g = geometry(self, x, format)
    self.output = util.sized_as(self.output, format, nil, g.N, self.out_channels, g.OH, g.OW)
    knn.conv2d_forward(x, self.weight, self.bias, self.output, self._workspace.tensor, self.stride, self.padding)
    return self.output
end

function Conv2d:backward(x, grad_out)
    local format = format_for(self, x)
    x = util.in_format(x, format) and x or self._tmp_x
    grad_out = util.as_format(self, '_tmp_gy', grad_out, format)
    geometry(self, x, format)
    local gx
    if not self.no_grad_input then
        self.grad_input = util.like(self.grad_input, x)
        gx = self.grad_input
    end
    knn.conv2d_backward(x, grad_out, self.weight, gx, self:grad_of('weight'), self.bias and self:grad_of('bias') or nil,
                        self._workspace.tensor, self.stride, self.padding)
    return gx
end

return Conv2d
