-- sslab.ssl: contrastive losses and negatives as objects that own their buffers.
--
--   local crit = ssl.InfoNCE{T = 0.2}
--   local loss, grad_q, acc = crit:forward(q, k, queue:negatives())   -- q, k L2-normalised [N x D]
--   local queue = ssl.Queue{K = 4096, dim = 128, seed = 1}; queue:enqueue(k)
--   local bank = ssl.MemoryBank{size = #ds, dim = 128, momentum = 0.5}
--   local hard = ssl.HardNegatives{M = 4096, xi = 0, omega = 0.3, alpha = 4}
--   local loss, grad_q = crit:forward_hard(q, k, queue:negatives(), hard)
--   local nt = ssl.NTXent{T = 0.5}; local loss, grad_z = nt:forward(z)   -- z = [z1; z2], [2N x D]
--
-- Each object reuses its gradient and scratch tensors across steps, and
-- exposes its state as tensors (state_dict / load_state_dict) for checkpoints.
local sslab = require 'sslab.core'
local kssl = sslab.ssl

local ssl = {}

-- A reusable buffer: self[key] if it already has these sizes, else new zeros.
local function buffer(self, key, dtype, ...)
  local b, sizes = self[key], {...}
  if b and b:dim() == #sizes then
    local same = true
    for i, s in ipairs(sizes) do if b:size(i) ~= s then same = false end end
    if same then return b end
  end
  b = sslab.zeros(sizes, dtype)
  self[key] = b
  return b
end

local function check_T(T, who)
  if type(T) ~= 'number' or not (T > 0) then error(string.format('%s: temperature T must be positive, got %s', who, tostring(T)), 3) end
  return T
end

-- {======================================================================
-- InfoNCE (MoCo)
-- =======================================================================
local InfoNCE = {}
InfoNCE.__index = InfoNCE
ssl.InfoNCE = InfoNCE

function InfoNCE.new(opts)
  opts = opts or {}
  return setmetatable({T = check_T(opts.T or 0.07, 'InfoNCE'), grad_k = opts.grad_k or false}, InfoNCE)
end
setmetatable(InfoNCE, {__call = function(_, ...) return InfoNCE.new(...) end})

--- loss, grad_q, top1 (pretext accuracy in [0,1]), grad_k (when opts.grad_k).
function InfoNCE:forward(q, k, negatives)
  local N, D = q:size(1), q:size(2)
  local gq = buffer(self, '_gq', 'float32', N, D)
  local gk = self.grad_k and buffer(self, '_gk', 'float32', N, D) or nil
  local rank = buffer(self, '_rank', 'int64', N)
  local work = buffer(self, '_work', 'float32', N, 1 + negatives:size(1))
  local loss, top1 = kssl.infonce(q, k, negatives, self.T, gq, gk, rank, work)
  return loss, gq, top1, gk
end

--- The same with per-query negatives drawn by a HardNegatives sampler from `queue`.
function InfoNCE:forward_hard(q, k, queue, sampler, generator)
  local N, D = q:size(1), q:size(2)
  local idx = sampler:sample(q, queue, generator)
  local gq = buffer(self, '_gq', 'float32', N, D)
  local gk = self.grad_k and buffer(self, '_gk', 'float32', N, D) or nil
  local rank = buffer(self, '_rank', 'int64', N)
  local work = buffer(self, '_work_hard', 'float32', N, 1 + idx:size(2))
  local loss, top1 = kssl.infonce_indexed(q, k, queue, idx, self.T, gq, gk, rank, work)
  return loss, gq, top1, gk
end

-- {======================================================================
-- NT-Xent (SimCLR)
-- =======================================================================
local NTXent = {}
NTXent.__index = NTXent
ssl.NTXent = NTXent

function NTXent.new(opts)
  opts = opts or {}
  return setmetatable({T = check_T(opts.T or 0.5, 'NTXent')}, NTXent)
end
setmetatable(NTXent, {__call = function(_, ...) return NTXent.new(...) end})

--- z: [2N x D], rows i and N+i are the two views of sample i. Returns loss, grad_z, top1.
function NTXent:forward(z)
  local n2, D = z:size(1), z:size(2)
  local gz = buffer(self, '_gz', 'float32', n2, D)
  local rank = buffer(self, '_rank', 'int64', n2)
  local work = buffer(self, '_work', 'float32', n2, n2)
  local loss, top1 = kssl.ntxent(z, self.T, gz, rank, work)
  return loss, gz, top1
end

-- {======================================================================
-- the negatives queue (MoCo)
-- =======================================================================
local Queue = {}
Queue.__index = Queue
ssl.Queue = Queue

--- ssl.Queue{K = 4096, dim = 128, generator = g}: starts full of random unit vectors, as MoCo.
function Queue.new(opts)
  local K, D = opts.K, opts.dim
  if math.type(K) ~= 'integer' or K < 1 then error('Queue: K must be a positive integer, got ' .. tostring(K), 2) end
  if math.type(D) ~= 'integer' or D < 1 then error('Queue: dim must be a positive integer, got ' .. tostring(D), 2) end
  local self = setmetatable({K = K, dim = D}, Queue)
  self.keys = sslab.empty(K, D)
  self.age = sslab.zeros({K}, 'int64')
  self.ptr = sslab.zeros({1}, 'int64')
  kssl.queue_init(self.keys, self.age, opts.generator)
  return self
end
setmetatable(Queue, {__call = function(_, ...) return Queue.new(...) end})

--- Write a batch of keys [B x D] (wraps around; K need not be a multiple of B).
function Queue:enqueue(keys)
  kssl.queue_enqueue(self.keys, self.ptr, nil, self.age, keys)
end

--- The negatives as a [K x D] tensor (the ring buffer itself; order does not matter).
function Queue:negatives() return self.keys end

function Queue:state_dict(prefix)
  prefix = prefix or ''
  return {[prefix .. 'keys'] = self.keys, [prefix .. 'ptr'] = self.ptr, [prefix .. 'age'] = self.age}
end

function Queue:load_state_dict(t, prefix)
  prefix = prefix or ''
  for _, name in ipairs({'keys', 'ptr', 'age'}) do
    local v = t[prefix .. name]
    if not v then error(string.format("Queue: checkpoint has no '%s%s'", prefix, name), 2) end
    self[name]:copy_(v)
  end
end

-- {======================================================================
-- hard negatives from the queue (the paper's Figure 5)
-- =======================================================================
local HardNegatives = {}
HardNegatives.__index = HardNegatives
ssl.HardNegatives = HardNegatives

--- ssl.HardNegatives{M = K, xi = 0, omega = 0.3, alpha = 4}: M ranks drawn per query from a
--- skew-normal over the similarity-rank fraction (0 = hardest).
function HardNegatives.new(opts)
  opts = opts or {}
  local self = setmetatable({M = opts.M, xi = opts.xi or 0, omega = opts.omega or 0.3, alpha = opts.alpha or 4}, HardNegatives)
  if not (self.omega > 0) then error('HardNegatives: omega must be positive', 2) end
  return self
end
setmetatable(HardNegatives, {__call = function(_, ...) return HardNegatives.new(...) end})

--- Indices [N x M] (0-based, for the kernels) of the negatives of each query.
function HardNegatives:sample(q, queue, generator)
  local M = self.M or queue:size(1)
  local idx = buffer(self, '_idx', 'int64', q:size(1), M)
  kssl.hardneg_sample(q, queue, self.xi, self.omega, self.alpha, idx, generator)
  return idx
end

--- The last draw as 1-based queue rows (for inspection).
function HardNegatives:last_indices()
  return self._idx and self._idx + 1
end

-- {======================================================================
-- the memory bank (InstDisc)
-- =======================================================================
local MemoryBank = {}
MemoryBank.__index = MemoryBank
ssl.MemoryBank = MemoryBank

--- ssl.MemoryBank{size = N, dim = 128, momentum = 0.5, negatives = 4096 (0 = full softmax), T = 0.07}
function MemoryBank.new(opts)
  local self = setmetatable({size = opts.size, dim = opts.dim, momentum = opts.momentum or 0.5,
                             negatives = opts.negatives or 4096, T = check_T(opts.T or 0.07, 'MemoryBank')}, MemoryBank)
  self.bank = sslab.empty(self.size, self.dim)
  kssl.membank_init(self.bank, opts.generator)
  self.Z = sslab.zeros({1}) -- NCE normaliser: estimated on the first batch, then fixed
  return self
end
setmetatable(MemoryBank, {__call = function(_, ...) return MemoryBank.new(...) end})

--- loss, grad_feat for features [B x D] of the samples at 1-based dataset positions `positions`.
function MemoryBank:loss(feat, positions, generator)
  local B, D = feat:size(1), feat:size(2)
  local grad = buffer(self, '_grad', 'float32', B, D)
  if self.negatives == 0 then
    local work = buffer(self, '_work', 'float32', B, self.size)
    local rank = buffer(self, '_rank', 'int64', B)
    local loss, top1 = kssl.membank_softmax(feat, self.bank, positions, self.T, grad, rank, work)
    return loss, grad, top1
  end
  local neg = buffer(self, '_neg', 'int64', B, self.negatives)
  kssl.membank_sample(neg, self.size, generator)
  local loss = kssl.membank_nce(feat, self.bank, positions, neg, self.Z, self.T, grad)
  return loss, grad
end

--- Move the entries of `positions` toward the (normalised) features: v = m v + (1 - m) f, renormalised.
function MemoryBank:update(feat, positions)
  kssl.membank_update(self.bank, positions, feat, self.momentum)
end

function MemoryBank:state_dict(prefix)
  prefix = prefix or ''
  return {[prefix .. 'bank'] = self.bank, [prefix .. 'Z'] = self.Z}
end

function MemoryBank:load_state_dict(t, prefix)
  prefix = prefix or ''
  for _, name in ipairs({'bank', 'Z'}) do
    local v = t[prefix .. name]
    if not v then error(string.format("MemoryBank: checkpoint has no '%s%s'", prefix, name), 2) end
    self[name]:copy_(v)
  end
end

--- target = m * target + (1 - m) * source over flat float tensors (the momentum encoder).
function ssl.ema(target, source, m)
  kssl.ema(target, source, m)
end

ssl.skewnorm_draw = kssl.skewnorm_draw
ssl.skewnorm_moments = kssl.skewnorm_moments

return ssl
