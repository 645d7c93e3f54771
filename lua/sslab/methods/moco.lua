-- MoCo v1 / v2 (He et al. 2020; Chen et al. 2020), with the paper's knobs:
-- queue size K, key-encoder momentum m, temperature T, projection head kind,
-- shuffle-BN emulated on one process (bn_splits), and hard negatives drawn
-- from the queue by similarity rank (hard_negatives = true; xi, omega, alpha).
--
-- One step: q = norm(head(enc_q(x1))); k = norm(head_k(enc_k(shuffle(x2))))
-- (unshuffled); loss = InfoNCE(q, k, queue); backward through the query side;
-- after the optimiser step: key encoder <- EMA of the query encoder, enqueue k.
local sslab = require 'sslab'
local ssl = require 'sslab.ssl'
local common = require 'sslab.methods.common'
local like = require('sslab.nn.module').util.like -- a reusable buffer shaped like a tensor
local kssl = sslab.core.ssl

local MoCo = {}
MoCo.__index = MoCo

--- cfg: K, m, T, head, dim, head_hidden, bn_splits, hard_negatives, hn_xi, hn_omega, hn_alpha, hn_M, seed.
--- encoder: a ResNet encoder (h = encoder:forward(x)).
function MoCo.new(cfg, encoder)
  local self = setmetatable({cfg = cfg, views = 2}, MoCo)
  self.gen = sslab.Generator(cfg.seed * 7919 + 17)
  self.model = common.projection_model(encoder, cfg.head, cfg, self.gen)
  self.model_k = self.model:clone()
  self.model_k:flatten_parameters()
  self.model_k:freeze() -- never gets gradients; moves by EMA only
  self.queue = ssl.Queue{K = cfg.K, dim = cfg.dim, generator = self.gen}
  self.crit = ssl.InfoNCE{T = cfg.T}
  if cfg.hard_negatives then
    self.hard = ssl.HardNegatives{M = cfg.hn_M > 0 and cfg.hn_M or cfg.K, xi = cfg.hn_xi, omega = cfg.hn_omega,
                                  alpha = cfg.hn_alpha}
  end
  return self
end

-- The key batch shuffled for shuffle-BN (only meaningful with bn_splits > 1): keys are computed
-- on a random permutation of the batch, so that each BN group mixes samples, and put back in
-- order. Buffers are reused: no allocation per step.
function MoCo:keys(x2)
  if (self.cfg.bn_splits or 1) <= 1 then
    return self.model_k:forward(x2)
  end
  local n = x2:size(1)
  if not (self._perm and self._perm:size(1) == n) then self._perm = sslab.zeros({n}, 'int64') end
  kssl.randperm_(self._perm, self.gen)
  self._x_shuffled = like(self._x_shuffled, x2)
  kssl.permute_rows(self._x_shuffled, x2:is_contiguous() and x2 or x2:contiguous(), self._perm, false)
  local k = self.model_k:forward(self._x_shuffled)
  self._k = like(self._k, k)
  kssl.permute_rows(self._k, k, self._perm, true)
  return self._k
end

function MoCo:train_step(batch)
  local x1, x2 = batch.views[1], batch.views[2]
  local q = self.model:forward(x1)
  local k = self:keys(x2)
  local loss, grad_q, acc
  if self.hard then
    loss, grad_q, acc = self.crit:forward_hard(q, k, self.queue:negatives(), self.hard, self.gen)
  else
    loss, grad_q, acc = self.crit:forward(q, k, self.queue:negatives())
  end
  self.model:backward(x1, grad_q)
  self.last_k = k
  return loss, {acc = acc}
end

function MoCo:after_step()
  ssl.ema(self.model_k.flat_params, self.model.flat_params, self.cfg.m)
  self.queue:enqueue(self.last_k)
end

function MoCo:embed(x) return common.embed(self.model, x) end

function MoCo:set_training(on)
  if on then self.model:train(); self.model_k:train() else self.model:evaluate(); self.model_k:evaluate() end
end

function MoCo:state_dict()
  local t = common.prefixed({}, 'model.', self.model:state_dict())
  common.prefixed(t, 'model_k.', self.model_k:state_dict())
  common.prefixed(t, 'queue.', self.queue:state_dict())
  common.save_generator(t, 'method.generator', self.gen)
  return t
end

function MoCo:load_state_dict(t)
  self.model:load_state_dict(common.strip(t, 'model.'))
  self.model_k:load_state_dict(common.strip(t, 'model_k.'))
  self.queue:load_state_dict(t, 'queue.')
  common.load_generator(t, 'method.generator', self.gen)
end

return MoCo
