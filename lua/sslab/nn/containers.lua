-- Containers: sslab.nn.Sequential, sslab.nn.Residual, sslab.nn.Concat, sslab.nn.Identity.
--
--   local net = nn.Sequential()
--       :add(nn.Conv2d(3, 16, 3, {padding = 1}), 'conv1')  -- optional names (state_dict keys)
--       :add(nn.ReLU())                                   -- unnamed: '0', '1', ... by position
--   local block = nn.Residual(branch, shortcut, {relu = true})  -- y = relu(branch(x) + shortcut(x))
--   local both = nn.Concat({a, b})                         -- outputs joined along dim 2
--
-- Children may be any table implementing the module contract (forward, backward,
-- parameters, zero_grad, train, evaluate, freeze, unfreeze, clone). Unnamed children
-- are named by their 0-based position, as torch.nn.Sequential does, so state_dict keys
-- match PyTorch's ('layer1.0.conv1.weight'); Lua access is 1-based: net.modules[1].
-- A child named '' is inlined: its own children's names appear directly under the parent.
-- Errors raised inside a child are prefixed with the child's position and name.
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local function child_label(self, i)
    local m = self.modules[i]
    local cls = getmetatable(m) and getmetatable(m).__name or 'table'
    local name = self.child_names[i]
    return string.format('%s[%d%s] (%s)', self.__name, i, (name and name ~= tostring(i - 1)) and (' ' .. name) or '', cls)
end

-- Call child i's method under pcall, prefixing any error with its position.
local function call(self, i, method, ...)
    local m = self.modules[i]
    local ok, res = pcall(m[method], m, ...)
    if not ok then error(child_label(self, i) .. ':' .. method .. ': ' .. tostring(res), 0) end
    return res
end

-- {======================================================================
-- Sequential
-- =======================================================================

local Sequential = Module:extend('Sequential')

function Sequential.new(modules)
    local self = Module.init(Sequential)
    self.modules, self.child_names = {}, {}
    for _, m in ipairs(modules or {}) do self:add(m) end
    return self
end

--- Append m (named `name`, default its 0-based position); returns self.
function Sequential:add(m, name)
    assert(type(m) == 'table' and type(m.forward) == 'function' and type(m.backward) == 'function',
           'Sequential:add: expected a module (a table with forward and backward)')
    if rawget(self, 'flat_params') then
        error('Sequential:add: the container is flattened; add children before flatten_parameters()', 2)
    end
    local i = #self.modules + 1
    self.modules[i] = m
    self.child_names[i] = name or tostring(i - 1)
    if name and name ~= '' and rawget(self, name) == nil and Sequential[name] == nil then self[name] = m end
    return self
end

--- The i-th child (1-based) or the child called name.
function Sequential:get(i)
    if type(i) == 'string' then
        for k, n in ipairs(self.child_names) do if n == i then return self.modules[k] end end
        return nil
    end
    return self.modules[i]
end

function Sequential:size() return #self.modules end

function Sequential:forward(x)
    local inputs = self._tmp_inputs or {}
    self._tmp_inputs = inputs
    for i = 1, #self.modules do
        inputs[i] = x
        x = call(self, i, 'forward', x)
    end
    self.output = x
    return x
end

function Sequential:backward(x, grad_out)
    local inputs = self._tmp_inputs
    if not inputs then error('Sequential:backward: call forward(x) first', 2) end
    local g = grad_out
    for i = #self.modules, 1, -1 do g = call(self, i, 'backward', inputs[i], g) end
    self.grad_input = g
    return g
end

-- }======================================================================

-- {======================================================================
-- Residual: y = post(branch(x) + shortcut(x)), shortcut = identity when nil
-- =======================================================================

local Residual = Module:extend('Residual')

--- opts: relu (false) applies ReLU after the sum, in place in the block's own buffer;
--- branch_name ('' = inline the branch's children), shortcut_name ('downsample'), label (for printing).
function Residual.new(branch, shortcut, opts)
    opts = opts or {}
    local self = Module.init(Residual)
    self.branch, self.shortcut, self.relu = branch, shortcut, opts.relu or false
    self.label = opts.label or 'Residual'
    self.modules = {branch}
    self.child_names = {opts.branch_name or ''}
    if shortcut then
        self.modules[2] = shortcut
        self.child_names[2] = opts.shortcut_name or 'downsample'
    end
    return self
end

function Residual:describe() return self.label .. (self.relu and '(relu)' or '') end

function Residual:forward(x)
    local b = call(self, 1, 'forward', x)
    local s = self.shortcut and call(self, 2, 'forward', x) or x
    self.output = util.like(self.output, b)
    local format = util.format(b)
    if self.relu and util.in_format(b, format) and util.in_format(s, format) then
        knn.add_relu(self.output, b, s) -- one pass
    else
        knn.add(self.output, b, s)
        if self.relu then knn.relu_forward(self.output, self.output) end
    end
    return self.output
end

function Residual:backward(x, grad_out)
    local g = grad_out
    if self.relu then
        self._tmp_g = util.like(self._tmp_g, self.output)
        g = util.as_format(self, '_tmp_gy', grad_out, util.format(self.output))
        knn.relu_backward(self.output, g, self._tmp_g)
        g = self._tmp_g
    end
    local gb = call(self, 1, 'backward', x, g)
    local gs = self.shortcut and call(self, 2, 'backward', x, g) or g
    if gb == nil then return nil end
    self.grad_input = util.like(self.grad_input, x)
    knn.add(self.grad_input, gb, gs)
    return self.grad_input
end

-- }======================================================================

-- {======================================================================
-- Concat: children applied to the same input, outputs joined along `dim` (default 2)
-- =======================================================================

local Concat = Module:extend('Concat')

function Concat.new(modules, opts)
    local self = Module.init(Concat)
    self.dim = opts and opts.dim or 2
    self.modules, self.child_names = {}, {}
    for i, m in ipairs(modules or {}) do
        self.modules[i] = m
        self.child_names[i] = tostring(i - 1)
    end
    return self
end

function Concat:describe() return 'Concat(dim ' .. self.dim .. ')' end

function Concat:forward(x)
    local outs, total = {}, 0
    for i = 1, #self.modules do
        outs[i] = call(self, i, 'forward', x)
        total = total + outs[i]:size(self.dim)
    end
    local first = outs[1]
    local sizes = first:size()
    sizes[self.dim] = total
    local out = util.sized(self.output, nil, table.unpack(sizes))
    if out ~= self.output then self._tmp_views = nil end
    self.output = out
    local views = self._tmp_views or {}
    self._tmp_views = views
    local off = 0
    for i, o in ipairs(outs) do
        local n = o:size(self.dim)
        local v = views[i]
        if not v or v:size(self.dim) ~= n or views[i .. 'off'] ~= off then
            v = out:narrow(self.dim, off + 1, n)
            views[i], views[i .. 'off'] = v, off
        end
        v:copy_(o)
        off = off + n
    end
    return out
end

function Concat:backward(x, grad_out)
    local gviews = self._tmp_gviews
    if not gviews or self._tmp_gsrc ~= grad_out then
        gviews = {}
        local off = 0
        for i = 1, #self.modules do
            local n = self._tmp_views[i]:size(self.dim)
            gviews[i] = grad_out:narrow(self.dim, off + 1, n)
            off = off + n
        end
        self._tmp_gviews, self._tmp_gsrc = gviews, grad_out
    end
    local gin
    for i = 1, #self.modules do
        local g = call(self, i, 'backward', x, gviews[i])
        if i == 1 then
            self.grad_input = util.like(self.grad_input, x)
            gin = self.grad_input
            gin:copy_(g)
        else
            gin:add_(g)
        end
    end
    return gin
end

-- }======================================================================

local Identity = Module:extend('Identity')
function Identity.new() return Module.init(Identity) end
function Identity:forward(x) self.output = x return x end
function Identity:backward(x, grad_out) self.grad_input = grad_out return grad_out end

return {Sequential = Sequential, Residual = Residual, Concat = Concat, Identity = Identity}
