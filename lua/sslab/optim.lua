-- sslab.optim: SGD (momentum, Nesterov, weight decay), LARS (SimCLR) and Adam/AdamW over the
-- flat parameter buffer of a model, with per-parameter-group settings. See docs/optim.md.
--
--   local opt = optim.SGD(model, {lr = 0.1, momentum = 0.9, weight_decay = 5e-4,
--                                 exclude_from_weight_decay = {'bn', 'bias'},
--                                 groups = {{match = '^fc%.', lr_mult = 10}}})
--   model:zero_grad(); ...; model:backward(x, g)
--   opt:step(schedule(step))          -- lr for this step (default: opts.lr)
--
-- An optimiser works on the records of model:named_parameters() ({name, kind, param, grad, module});
-- a flattened model (model.flat_layout) is updated in as few kernel calls as possible: adjacent
-- parameters with equal settings form one run of the flat buffer. Frozen parameters
-- (record.module.frozen) are skipped. State (step count, momentum / moment buffers) is kept in flat
-- tensors aligned with the parameters: opt:state_dict() / opt:load_state_dict() for checkpoints.
local core = require 'sslab.core'
local kopt = core.optim

local optim = {}

-- {======================================================================
-- shared machinery: parameter groups and runs
-- =======================================================================

local Optimizer = {}
Optimizer.__index = Optimizer
optim.Optimizer = Optimizer

local function contains(list, v)
    for _, x in ipairs(list or {}) do if x == v then return true end end
    return false
end

local function matches(group, rec)
    local m = group.match
    if m == nil then return true end
    if type(m) == 'function' then return m(rec) and true or false end
    if type(m) == 'string' then return rec.name:find(m) ~= nil end
    if type(m) == 'table' then return contains(m, rec.name) or contains(m, rec.kind) end
    error('optim: group.match must be a name pattern, a list of names/kinds or a function', 3)
end

-- Settings of one parameter: the first matching group overrides the defaults.
local function settings_for(self, rec)
    local s = {}
    for k, v in pairs(self.defaults) do s[k] = v end
    s.lr_mult = 1
    if contains(self.defaults.exclude_from_weight_decay, rec.kind) then s.weight_decay = 0 end
    if self.defaults.exclude_from_adaptation and contains(self.defaults.exclude_from_adaptation, rec.kind) then
        s.adapt = false
    end
    for _, g in ipairs(self.groups) do
        if matches(g, rec) then
            for k, v in pairs(g) do if k ~= 'match' then s[k] = v end end
            if g.lr and not g.lr_mult then s.lr_mult = g.lr / self.defaults.lr end
            break
        end
    end
    return s
end

local function same_settings(a, b, keys)
    for _, k in ipairs(keys) do if a[k] ~= b[k] then return false end end
    return true
end

-- Build self.runs: {param=view, grad=view, bufs={views...}, s=settings, n=} for the unfrozen parameters.
local function plan(self)
    local recs = self.records
    local runs = {}
    local cur
    for i, r in ipairs(recs) do
        local frozen = r.module and r.module.frozen
        if not frozen and r.numel > 0 then
            local s = self.settings[i]
            local mergeable = self.merge and cur and cur.last_end == r.offset and same_settings(cur.s, s, self.keys)
                              and not self.per_parameter
            if mergeable then
                cur.n = cur.n + r.numel
                cur.last_end = r.offset + r.numel
            else
                cur = {offset = r.offset, n = r.numel, last_end = r.offset + r.numel, s = s, name = r.name, rec = r}
                runs[#runs + 1] = cur
            end
        end
    end
    for _, run in ipairs(runs) do
        if self.merge then
            run.param = self.flat_params:narrow(1, run.offset + 1, run.n)
            run.grad = self.flat_grads:narrow(1, run.offset + 1, run.n)
        else -- one parameter per run: its own tensors
            run.param, run.grad = run.rec.param:view(-1), run.rec.grad:view(-1)
        end
        run.bufs = {}
        for k, b in ipairs(self.state_buffers) do run.bufs[k] = b:narrow(1, run.offset + 1, run.n) end
    end
    self.runs = runs
    self.planned_version = self.module_version()
end

--- Common constructor: target is a Module (flattened or not) or a list of parameter records.
local function new_optimizer(cls, target, opts, defaults, keys, nbuffers)
    opts = opts or {}
    local self = setmetatable({}, cls)
    self.defaults = {}
    for k, v in pairs(defaults) do self.defaults[k] = v end
    for k, v in pairs(opts) do
        if k ~= 'groups' then
            if defaults[k] == nil then
                local known = {}
                for kk in pairs(defaults) do known[#known + 1] = kk end
                table.sort(known)
                error(string.format("%s: unknown option '%s' (known: groups, %s)", cls.__name, tostring(k),
                                    table.concat(known, ', ')), 3)
            end
            self.defaults[k] = v
        end
    end
    if type(self.defaults.lr) ~= 'number' then error(cls.__name .. ': lr must be a number', 3) end
    self.groups = opts.groups or {}
    self.keys = keys
    local Module = require 'sslab.nn.module'
    self.module_version = function() return Module.version end
    local recs
    if type(target) == 'table' and target.flat_layout then
        self.merge = true
        self.flat_params, self.flat_grads = target.flat_params, target.flat_grads
        recs = target.flat_layout
    else
        recs = type(target) == 'table' and target.named_parameters and target:named_parameters() or target
        self.merge = false
        local off = 0
        for _, r in ipairs(recs) do
            if not (r.param:is_contiguous() and r.grad and r.grad:is_contiguous()) then
                error(cls.__name .. ': parameter ' .. tostring(r.name) .. ' and its gradient must be contiguous', 3)
            end
            r.offset, r.numel = off, r.param:numel()
            off = off + r.numel
        end
    end
    self.records = recs
    self.numel = 0
    for _, r in ipairs(recs) do self.numel = math.max(self.numel, r.offset + r.numel) end
    self.settings = {}
    for i, r in ipairs(recs) do self.settings[i] = settings_for(self, r) end
    self.state_buffers = {}
    for k = 1, nbuffers do self.state_buffers[k] = core.zeros(math.max(self.numel, 1)) end
    self.step_count = core.zeros({}, 'int64')
    self.lr = self.defaults.lr
    return self
end

function Optimizer:_runs()
    if not self.runs or self.planned_version ~= self.module_version() then plan(self) end
    return self.runs
end

--- The number of steps taken.
function Optimizer:steps() return self.step_count:item() end

--- Set the base learning rate used by step() without an argument.
function Optimizer:set_lr(lr) self.lr = lr end

--- Checkpointable state: name -> tensor (step count and the state buffers, aligned with the parameters).
function Optimizer:state_dict()
    local sd = {step = self.step_count}
    for k, name in ipairs(self.buffer_names) do sd[name] = self.state_buffers[k] end
    return sd
end

function Optimizer:load_state_dict(sd)
    local problems = {}
    local function check(name, t)
        local src = sd[name]
        if src == nil then
            problems[#problems + 1] = 'missing ' .. name
        elseif not core.is_tensor(src) or src:numel() ~= t:numel() then
            problems[#problems + 1] = string.format('%s: expected %d elements, got %s', name, t:numel(),
                                                    core.is_tensor(src) and tostring(src:numel()) or type(src))
        end
    end
    check('step', self.step_count)
    for k, name in ipairs(self.buffer_names) do check(name, self.state_buffers[k]) end
    if #problems > 0 then error(self.__name .. ':load_state_dict: ' .. table.concat(problems, '; '), 2) end
    self.step_count:copy_(sd.step:view({}))
    for k, name in ipairs(self.buffer_names) do self.state_buffers[k]:copy_(sd[name]:view(-1)) end
end

-- }======================================================================

-- {======================================================================
-- SGD
-- =======================================================================

local SGD = setmetatable({__name = 'SGD'}, {__index = Optimizer})
SGD.__index = SGD
optim.SGD_class = SGD

--- optim.SGD(model, {lr, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false,
---                   exclude_from_weight_decay = {}, groups = {...}})
function optim.SGD(target, opts)
    local self = new_optimizer(SGD, target, opts,
                               {lr = false, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false,
                                exclude_from_weight_decay = {}},
                               {'lr_mult', 'momentum', 'dampening', 'weight_decay', 'nesterov'}, 1)
    self.buffer_names = {'momentum_buffer'}
    return self
end

--- One update with learning rate lr (default self.lr); gradients must be in the grads.
function SGD:step(lr)
    lr = lr or self.lr
    local first = self.step_count:item() == 0
    for _, r in ipairs(self:_runs()) do
        local s = r.s
        kopt.sgd_step(r.param, r.grad, s.momentum ~= 0 and r.bufs[1] or nil, lr * s.lr_mult, s.momentum, s.dampening,
                      s.weight_decay, s.nesterov, first)
    end
    self.step_count:add_(1)
end

-- }======================================================================

-- {======================================================================
-- LARS (SimCLR)
-- =======================================================================

local LARS = setmetatable({__name = 'LARS'}, {__index = Optimizer})
LARS.__index = LARS

--- optim.LARS(model, {lr, momentum = 0.9, weight_decay = 0, eta = 0.001, nesterov = false,
---                    exclude_from_weight_decay = {'bn', 'bias'}, exclude_from_adaptation = {'bn', 'bias'}})
--- The trust ratio eta * ||w|| / ||g + wd w|| is computed per parameter tensor.
function optim.LARS(target, opts)
    local self = new_optimizer(LARS, target, opts,
                               {lr = false, momentum = 0.9, weight_decay = 0, eta = 0.001, nesterov = false,
                                exclude_from_weight_decay = {'bn', 'bias'}, exclude_from_adaptation = {'bn', 'bias'},
                                adapt = true},
                               {'lr_mult', 'momentum', 'weight_decay', 'eta', 'nesterov', 'adapt'}, 1)
    self.buffer_names = {'momentum_buffer'}
    self.per_parameter = true -- trust ratios are per tensor (runs of non-adapted params could merge; kept simple)
    self.trust = {}
    return self
end

function LARS:step(lr)
    lr = lr or self.lr
    for i, r in ipairs(self:_runs()) do
        local s = r.s
        self.trust[i] = kopt.lars_step(r.param, r.grad, r.bufs[1], lr * s.lr_mult, s.momentum, s.weight_decay, s.eta,
                                       s.adapt, s.nesterov)
    end
    self.step_count:add_(1)
end

-- }======================================================================

-- {======================================================================
-- Adam / AdamW
-- =======================================================================

local Adam = setmetatable({__name = 'Adam'}, {__index = Optimizer})
Adam.__index = Adam

--- optim.Adam(model, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, decoupled = false})
--- decoupled = true is AdamW.
function optim.Adam(target, opts)
    opts = opts or {}
    if opts.lr == nil then
        local o = {lr = 1e-3}
        for k, v in pairs(opts) do o[k] = v end
        opts = o
    end
    local self = new_optimizer(Adam, target, opts,
                               {lr = false, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0, decoupled = false,
                                exclude_from_weight_decay = {}},
                               {'lr_mult', 'betas', 'eps', 'weight_decay', 'decoupled'}, 2)
    self.buffer_names = {'exp_avg', 'exp_avg_sq'}
    return self
end

function optim.AdamW(target, opts)
    local o = {decoupled = true, weight_decay = 1e-2}
    for k, v in pairs(opts or {}) do o[k] = v end
    return optim.Adam(target, o)
end

function Adam:step(lr)
    lr = lr or self.lr
    self.step_count:add_(1)
    local t = self.step_count:item()
    for _, r in ipairs(self:_runs()) do
        local s = r.s
        kopt.adam_step(r.param, r.grad, r.bufs[1], r.bufs[2], lr * s.lr_mult, s.betas[1], s.betas[2], s.eps,
                       s.weight_decay, s.decoupled, t)
    end
end

-- }======================================================================

--- optim.ema_(target, source, m): target = m * target + (1 - m) * source over whole tensors
--- (the momentum-encoder update on flat parameter buffers).
optim.ema_ = kopt.ema_
optim.kernels = kopt

return optim
