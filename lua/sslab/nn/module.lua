-- sslab.nn.Module: the base class of every layer and container.
--
-- The contract (torch/nn in spirit; any Lua table implementing it can sit in
-- a container):
--   m:forward(x)               -> output (a buffer the module reuses)
--   m:backward(x, grad_out)    -> grad_input; ACCUMULATES parameter gradients
--   m:parameters()             -> params, grads (two lists of tensors)
--   m:zero_grad()              zero the gradients
--   m:train() / m:evaluate()   training / evaluation mode (BatchNorm)
--   m:freeze() / m:unfreeze()  a frozen module gets no parameter gradients and
--                              is skipped by optimisers; gradients still flow
--                              through it to earlier layers
--   m:clone()                  deep copy (independent parameters and buffers)
--   tostring(m)                structure and parameter counts
-- Module-derived classes also get named_parameters(), named_modules(),
-- state_dict(), load_state_dict(), flatten_parameters(), share_workspace().
--
-- Buffers: a module keeps its output and grad_input tensors between calls and
-- reallocates them only when the input shape changes, so after the first
-- iteration a training step allocates no tensors. Fields whose name starts
-- with '_tmp' hold such transient state; clone() does not copy them.
local core = require 'sslab.core'
local knn = core.nn

local Module = {}
Module.__index = Module
Module.__name = 'Module'

-- Bumped whenever freeze()/unfreeze() changes anything; optimisers re-plan on change.
Module.version = 0

local function class_call(cls, ...) return cls.new(...) end

--- Module:extend(name) -> a subclass; Sub(...) calls Sub.new(...).
function Module:extend(name)
    local cls = {}
    for k, v in pairs(self) do
        if type(k) == 'string' and k:sub(1, 2) == '__' then cls[k] = v end -- metamethods are not inherited
    end
    cls.__index = cls
    cls.__name = name
    cls.super = self
    return setmetatable(cls, {__index = self, __call = class_call})
end
setmetatable(Module, {__call = class_call})

--- Initialise the common fields of a new instance of class cls.
function Module.init(cls)
    local self = setmetatable({}, cls)
    self.training = true
    self.frozen = false
    self._params = {}   -- {name=, kind=} in registration order; tensors live in self[name], self['grad_'..name]
    self._buffers = {}  -- names of state tensors saved in state_dict (running statistics)
    return self
end

function Module.new() return Module.init(Module) end

--- Register a parameter tensor under self[name] with a zeroed gradient self['grad_' .. name].
--- kind: 'weight', 'bias' or 'bn' (optimisers use it for weight-decay groups).
function Module:register_parameter(name, tensor, kind)
    self[name] = tensor
    self['grad_' .. name] = core.zeros(tensor:size())
    self._params[#self._params + 1] = {name = name, kind = kind or 'weight'}
    return tensor
end

function Module:register_buffer(name, tensor)
    self[name] = tensor
    self._buffers[#self._buffers + 1] = name
    return tensor
end

-- {======================================================================
-- buffers reused across calls
-- =======================================================================

local util = {}
Module.util = util

-- Activations may be laid out channels first (contiguous [N x C x H x W]) or channels last
-- (memory [N x H x W x C], PyTorch's channels_last): the convolution, batch-norm, ReLU and
-- pooling kernels take either, and each module's buffers follow the layout of its input.

--- util.format(x) -> 'channels_last' for a 4-d tensor laid out channels last (and not also
--- contiguous, as tensors with one channel or 1x1 planes are), else 'contiguous'.
function util.format(x)
    if x:dim() == 4 and not x:is_contiguous() and x:is_contiguous('channels_last') then return 'channels_last' end
    return 'contiguous'
end

--- util.in_format(x, format) -> whether x's memory is laid out as `format` says.
function util.in_format(x, format)
    if format == 'channels_last' then return x:is_contiguous('channels_last') end
    return x:is_contiguous()
end

--- util.is_dense(x) -> whether x is laid out contiguous or channels last (the kernels take either).
function util.is_dense(x)
    return x:is_contiguous() or (x:dim() == 4 and x:is_contiguous('channels_last'))
end

local function zeros_as(format, sizes, dtype)
    if format == 'channels_last' then
        return core.zeros({sizes[1], sizes[3], sizes[4], sizes[2]}, dtype):permute(1, 4, 2, 3)
    end
    return core.zeros(sizes, dtype)
end

-- buf has exactly the sizes n1, n2, ... (no table or closure: these run in every forward)
local function has_sizes(buf, ...)
    local nd = select('#', ...)
    if not (buf and buf:dim() == nd) then return false end
    for d = 1, nd do
        if buf:size(d) ~= select(d, ...) then return false end
    end
    return true
end

local function same_shape(buf, x)
    if not (buf and buf:dim() == x:dim()) then return false end
    for d = 1, x:dim() do
        if buf:size(d) ~= x:size(d) then return false end
    end
    return true
end

--- util.sized_as(buf, format, dtype, n1, n2, ...) -> buf if it has exactly these sizes and this
--- format, else a new zeroed tensor.
function util.sized_as(buf, format, dtype, ...)
    if has_sizes(buf, ...) and util.in_format(buf, format) then return buf end
    return zeros_as(format, {...}, dtype)
end

--- util.sized(buf, dtype, n1, n2, ...) -> buf if it has exactly these sizes, else a new zeroed tensor.
function util.sized(buf, dtype, ...) return util.sized_as(buf, 'contiguous', dtype, ...) end

--- util.like_as(buf, x, format) -> buf if it has x's sizes and dtype and this format, else a new
--- zeroed tensor shaped like x in that format.
function util.like_as(buf, x, format)
    if same_shape(buf, x) and buf:dtype() == x:dtype() and util.in_format(buf, format) then return buf end
    return zeros_as(format, x:size(), x:dtype())
end

--- util.like(buf, x) -> buf if it has x's sizes, dtype and format, else a new zeroed tensor like x.
function util.like(buf, x) return util.like_as(buf, x, util.format(x)) end

--- util.as_format(self, key, x, format) -> x if laid out as `format`, else a copy in that
--- format in the reused buffer self[key].
function util.as_format(self, key, x, format)
    if util.in_format(x, format) then return x end
    local buf = util.like_as(self[key], x, format)
    self[key] = buf
    buf:copy_(x)
    return buf
end

--- util.contiguous(self, key, x) -> x if contiguous, else a copy into the reused buffer self[key].
function util.contiguous(self, key, x) return util.as_format(self, key, x, 'contiguous') end

--- util.dense(self, key, x) -> x if contiguous or channels last, else a contiguous copy (self[key]).
function util.dense(self, key, x)
    if util.is_dense(x) then return x end
    return util.as_format(self, key, x, 'contiguous')
end

--- The gradient tensor of parameter `name`, or nil when frozen (the kernel then skips it).
function Module:grad_of(name)
    if self.frozen then return nil end
    return self['grad_' .. name]
end

-- }======================================================================

-- {======================================================================
-- the contract
-- =======================================================================

function Module:forward(x)
    error(self.__name .. ':forward is not implemented', 2)
end

function Module:backward(x, grad_out)
    error(self.__name .. ':backward is not implemented', 2)
end

--- Children as two lists: modules and their names ('' = inline the child's names).
function Module:children()
    return self.modules or {}, self.child_names or {}
end

function Module:parameters()
    local params, grads = {}, {}
    for _, r in ipairs(self:named_parameters()) do
        params[#params + 1] = r.param
        grads[#grads + 1] = r.grad
    end
    return params, grads
end

function Module:zero_grad()
    if self.flat_grads then
        self.flat_grads:zero_()
        return
    end
    for _, p in ipairs(self._params) do self['grad_' .. p.name]:zero_() end
    for _, m in ipairs((self:children())) do m:zero_grad() end
end

function Module:train(mode)
    if mode == nil then mode = true end
    self.training = mode
    for _, m in ipairs((self:children())) do m:train(mode) end
    return self
end

function Module:evaluate() return self:train(false) end

function Module:freeze()
    self.frozen = true
    for _, m in ipairs((self:children())) do m:freeze() end
    Module.version = Module.version + 1
    return self
end

function Module:unfreeze()
    self.frozen = false
    for _, m in ipairs((self:children())) do m:unfreeze() end
    Module.version = Module.version + 1
    return self
end

-- }======================================================================

-- {======================================================================
-- names: parameters, buffers, modules
-- =======================================================================

local function join(prefix, name)
    if name == nil or name == '' then return prefix end
    return prefix .. name .. '.'
end

-- Visit m (Module-derived or any table implementing the contract) depth first.
-- on_param(record) gets {name, kind, param, grad, module}; on_buffer(name, tensor, module).
local function walk(m, prefix, on_param, on_buffer, on_module)
    if on_module then on_module(prefix, m) end
    if getmetatable(m) and m._params and m.register_parameter then
        for _, p in ipairs(m._params) do
            on_param {name = prefix .. p.name, kind = p.kind, param = m[p.name], grad = m['grad_' .. p.name],
                      module = m}
        end
        if on_buffer then
            for _, b in ipairs(m._buffers) do on_buffer(prefix .. b, m[b], m) end
        end
        local mods, names = m:children()
        for i, c in ipairs(mods) do walk(c, join(prefix, names[i] or tostring(i - 1)), on_param, on_buffer, on_module) end
    elseif type(m.named_parameters) == 'function' then
        for _, r in ipairs(m:named_parameters()) do
            on_param {name = prefix .. r.name, kind = r.kind or 'weight', param = r.param, grad = r.grad, module = m}
        end
    elseif type(m.parameters) == 'function' then
        local ps, gs = m:parameters()
        for i, p in ipairs(ps or {}) do
            on_param {name = prefix .. tostring(i - 1), kind = p:dim() > 1 and 'weight' or 'bias', param = p,
                      grad = gs[i], module = m}
        end
    end
end
Module.walk = walk

--- List of {name=, kind=, param=, grad=, module=} for every parameter (each tensor once).
--- A record's module.frozen tells whether the parameter is frozen.
function Module:named_parameters()
    local out, seen = {}, {}
    walk(self, '', function(r)
        if not seen[r.param] then
            seen[r.param] = true
            out[#out + 1] = r
        end
    end)
    return out
end

--- List of {name, module} for self and every descendant ('' is self).
function Module:named_modules()
    local out = {}
    walk(self, '', function() end, nil, function(prefix, m) out[#out + 1] = {prefix:gsub('%.$', ''), m} end)
    return out
end

--- Number of parameter elements.
function Module:num_parameters()
    local n = 0
    for _, r in ipairs(self:named_parameters()) do n = n + r.param:numel() end
    return n
end

-- }======================================================================

-- {======================================================================
-- flat parameters and shared workspace
-- =======================================================================

--- Put every parameter in one float32 tensor self.flat_params and every gradient in self.flat_grads;
--- each module's weight/bias (and grad_*) tensor object becomes a view into them (values kept).
--- Returns flat_params, flat_grads. self.flat_layout lists the records with their element `offset`.
--- Flattening a container takes over the flat buffers of any flattened descendant.
function Module:flatten_parameters()
    local recs = self:named_parameters()
    local total = 0
    for _, r in ipairs(recs) do total = total + r.param:numel() end
    local flat, gflat = core.zeros(math.max(total, 0)), core.zeros(math.max(total, 0))
    local off = 0
    for _, r in ipairs(recs) do
        local n = r.param:numel()
        if n > 0 then
            local shape = r.param:size()
            local pv = flat:narrow(1, off + 1, n):view(shape)
            pv:copy_(r.param)
            knn.set_(r.param, pv)
            if r.grad then
                local gv = gflat:narrow(1, off + 1, n):view(shape)
                gv:copy_(r.grad)
                knn.set_(r.grad, gv)
            end
        end
        r.offset = off
        r.numel = n
        off = off + n
    end
    for _, nm in ipairs(self:named_modules()) do
        local m = nm[2]
        if m ~= self and rawget(m, 'flat_params') then
            m.flat_params, m.flat_grads, m.flat_layout = nil, nil, nil
        end
    end
    self.flat_params, self.flat_grads, self.flat_layout = flat, gflat, recs
    return flat, gflat
end

--- flat_params, flat_grads (flattening first if needed).
function Module:flat_parameters()
    if not self.flat_params then self:flatten_parameters() end
    return self.flat_params, self.flat_grads
end

--- Give every convolution below self one shared workspace (sized by the largest need, grown lazily).
function Module:share_workspace()
    local holder = {workspace_holder = true}
    for _, nm in ipairs(self:named_modules()) do
        if rawget(nm[2], '_workspace') then nm[2]._workspace = holder end
    end
    return holder
end

-- }======================================================================

-- {======================================================================
-- state dict
-- =======================================================================

--- Table name -> tensor of parameters and buffers (torchvision names). The tensors are the live
--- ones (copy them to keep a snapshot). One result, so sslab.save(path, m:state_dict()) works.
function Module:state_dict()
    return (self:state_dict_keys())
end

--- state_dict() and its keys in registration order (parameters and buffers depth first), the
--- order PyTorch's state_dict() lists them.
function Module:state_dict_keys()
    local sd, keys = {}, {}
    walk(self, '', function(r)
        if not sd[r.name] then
            sd[r.name] = r.param
            keys[#keys + 1] = r.name
        end
    end, function(name, t)
        sd[name] = t
        keys[#keys + 1] = name
    end)
    return sd, keys
end

local function shape_str(t)
    local s = {}
    for d = 1, t:dim() do s[d] = tostring(t:size(d)) end
    return '[' .. table.concat(s, 'x') .. ']'
end
Module.util.shape_str = shape_str

local function same_sizes(a, b)
    if a:dim() ~= b:dim() then return false end
    for d = 1, a:dim() do
        if a:size(d) ~= b:size(d) then return false end
    end
    return true
end

--- Copy the tensors of sd into this model. opts.strict (default true): missing or unexpected keys are
--- an error. A shape mismatch is always an error. The message lists every problem.
--- Returns the lists of missing and unexpected keys.
function Module:load_state_dict(sd, opts)
    local strict = not (opts and opts.strict == false)
    local mine, keys = self:state_dict_keys()
    local missing, unexpected, mismatched = {}, {}, {}
    for _, k in ipairs(keys) do
        local src = sd[k]
        if src == nil then
            missing[#missing + 1] = k
        elseif not core.is_tensor(src) then
            mismatched[#mismatched + 1] = string.format('%s: expected a tensor, got %s', k, type(src))
        elseif not same_sizes(src, mine[k]) then
            mismatched[#mismatched + 1] = string.format('%s: checkpoint %s, model %s', k, shape_str(src),
                                                        shape_str(mine[k]))
        end
    end
    local extra = {}
    for k in pairs(sd) do
        if mine[k] == nil then extra[#extra + 1] = tostring(k) end
    end
    table.sort(extra)
    unexpected = extra
    local problems = {}
    if #mismatched > 0 then
        problems[#problems + 1] = 'size mismatch for ' .. #mismatched .. ' key(s):\n    ' ..
                                  table.concat(mismatched, '\n    ')
    end
    if strict and #missing > 0 then
        problems[#problems + 1] = 'missing ' .. #missing .. ' key(s):\n    ' .. table.concat(missing, '\n    ')
    end
    if strict and #unexpected > 0 then
        problems[#problems + 1] = 'unexpected ' .. #unexpected .. ' key(s):\n    ' ..
                                  table.concat(unexpected, '\n    ')
    end
    if #problems > 0 then
        error('load_state_dict: ' .. table.concat(problems, '\n  '), 2)
    end
    for _, k in ipairs(keys) do
        if sd[k] ~= nil then mine[k]:copy_(sd[k]) end
    end
    return missing, unexpected
end

-- }======================================================================

-- {======================================================================
-- clone and printing
-- =======================================================================

local skip_on_clone = {output = true, grad_input = true, flat_params = true, flat_grads = true, flat_layout = true}

local function deep_copy(v, memo)
    if memo[v] ~= nil then return memo[v] end
    if core.is_tensor(v) then
        local c = v:clone()
        memo[v] = c
        return c
    end
    if type(v) ~= 'table' then return v end
    if not (getmetatable(v) and rawget(v, '_params')) and type(v.forward) == 'function' and
       type(v.clone) == 'function' then -- a module written without nn.Module: its own clone
        local c = v:clone()
        memo[v] = c
        return c
    end
    if rawget(v, 'workspace_holder') then -- a shared scratch: share a fresh one in the copy
        local h = {workspace_holder = true}
        memo[v] = h
        return h
    end
    local c = {}
    memo[v] = c
    for k, x in pairs(v) do
        if not (type(k) == 'string' and (skip_on_clone[k] or k:sub(1, 4) == '_tmp')) then
            c[deep_copy(k, memo)] = deep_copy(x, memo)
        end
    end
    return setmetatable(c, getmetatable(v))
end

--- Deep copy: parameters, gradients, buffers and options; transient buffers are not copied.
--- A flattened model's copy is flattened too (its own flat buffers).
function Module:clone()
    local c = deep_copy(self, {})
    if rawget(self, 'flat_params') then c:flatten_parameters() end
    return c
end

--- Drop the reusable buffers (output, grad_input and every '_tmp*' field) of self and its
--- descendants, e.g. before keeping a model around only for its parameters (nn's clearState).
--- The next forward reallocates them.
function Module:clear_state()
    for _, nm in ipairs(self:named_modules()) do
        local m = nm[2]
        if getmetatable(m) and m._params then
            local drop = {}
            for k in pairs(m) do
                if k == 'output' or k == 'grad_input' or (type(k) == 'string' and k:sub(1, 4) == '_tmp') then
                    drop[#drop + 1] = k
                end
            end
            for _, k in ipairs(drop) do m[k] = nil end
        end
    end
    return self
end

--- One-line description of a leaf (layers override it).
function Module:describe() return self.__name end

local function group3(n)
    local s = tostring(n)
    return (s:reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', ''))
end
Module.util.group3 = group3

local function repr(m, indent)
    local desc = type(m.describe) == 'function' and m:describe() or (getmetatable(m) and getmetatable(m).__name) or
                 'table'
    if m.frozen then desc = desc .. ' [frozen]' end
    local mods, names = {}, {}
    if type(m.children) == 'function' then mods, names = m:children() end
    if #mods == 0 then return desc end
    local n = type(m.num_parameters) == 'function' and m:num_parameters() or nil
    local lines = {desc .. (n and (' (' .. group3(n) .. ' parameters)') or '') .. ' {'}
    local function list(ms, ns)
        for i, c in ipairs(ms) do
            local name = ns[i] or tostring(i - 1)
            local sub = name == '' and type(c.children) == 'function' and {c:children()} or nil
            if sub and #sub[1] > 0 then -- an inlined child: its children appear at this level
                list(sub[1], sub[2])
            else
                lines[#lines + 1] = indent .. '  (' .. (name == '' and '*' or name) .. '): ' .. repr(c, indent .. '  ')
            end
        end
    end
    list(mods, names)
    lines[#lines + 1] = indent .. '}'
    return table.concat(lines, '\n')
end

function Module.__tostring(m)
    local s = repr(m, '')
    local mods = type(m.children) == 'function' and m:children() or {}
    if #mods == 0 and m.num_parameters then
        local n = m:num_parameters()
        if n > 0 then s = s .. ' (' .. group3(n) .. ' parameters)' end
    end
    return s
end

-- }======================================================================

return Module
