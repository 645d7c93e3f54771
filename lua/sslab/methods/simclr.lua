-- SimCLR (Chen et al. 2020): both views through one network, NT-Xent over the
-- 2N outputs (in-batch negatives: K = 2N - 2 is set by the batch size).
local sslab = require 'sslab'
local ssl = require 'sslab.ssl'
local common = require 'sslab.methods.common'

local SimCLR = {}
SimCLR.__index = SimCLR

function SimCLR.new(cfg, encoder)
  local self = setmetatable({cfg = cfg, views = 2}, SimCLR)
  self.gen = sslab.Generator(cfg.seed * 7919 + 17)
  self.model = common.projection_model(encoder, cfg.head, cfg, self.gen)
  self.crit = ssl.NTXent{T = cfg.T}
  return self
end

function SimCLR:train_step(batch)
  local x1, x2 = batch.views[1], batch.views[2]
  local n = x1:size(1)
  local shape = x1:shape()
  shape[1] = 2 * n
  local x = self._x
  if not x or x:size(1) ~= 2 * n then x = sslab.empty(shape); self._x = x end
  x:narrow(1, 1, n):copy_(x1)
  x:narrow(1, n + 1, n):copy_(x2)
  local z = self.model:forward(x)   -- BatchNorm statistics over all 2N views, as SimCLR's global BN
  local loss, grad_z, acc = self.crit:forward(z)
  self.model:backward(x, grad_z)
  return loss, {acc = acc}
end

function SimCLR:after_step() end

function SimCLR:embed(x) return common.embed(self.model, x) end

function SimCLR:set_training(on)
  if on then self.model:train() else self.model:evaluate() end
end

function SimCLR:state_dict()
  local t = common.prefixed({}, 'model.', self.model:state_dict())
  common.save_generator(t, 'method.generator', self.gen)
  return t
end

function SimCLR:load_state_dict(t)
  self.model:load_state_dict(common.strip(t, 'model.'))
  common.load_generator(t, 'method.generator', self.gen)
end

return SimCLR
