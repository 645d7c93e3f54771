-- Supervised training with cross-entropy (the reference for "MoCo v2
-- augmentation versus supervised augmentation"): encoder -> fc(num_classes).
-- h is the encoder's pooled feature, z the (normalised) logits.
local sslab = require 'sslab'
local nn = require 'sslab.nn'
local common = require 'sslab.methods.common'

local Supervised = {}
Supervised.__index = Supervised

function Supervised.new(cfg, encoder)
  local self = setmetatable({cfg = cfg, views = 1}, Supervised)
  self.gen = sslab.Generator(cfg.seed * 7919 + 17)
  self.model = nn.Sequential()
  self.model:add(common.no_image_grad(encoder), 'encoder')
  self.model:add(nn.Linear(encoder.feature_dim, cfg.num_classes, {rng = self.gen}), 'fc')
  self.model:flatten_parameters()
  self.crit = nn.CrossEntropy{label_smoothing = cfg.label_smoothing or 0}
  self.norm = nn.Normalize()
  return self
end

function Supervised:train_step(batch)
  local x = batch.views[1]
  local logits = self.model:forward(x)
  local loss = self.crit:forward(logits, batch.labels)
  local grad = self.crit:backward(logits, batch.labels)
  self.model:backward(x, grad)
  local _, predicted = logits:max(2)
  return loss, {acc = predicted:eq(batch.labels):float():mean()}
end

function Supervised:after_step() end

function Supervised:embed(x)
  local was = self.model.training
  self.model:evaluate()
  local h = self.model.modules[1]:forward(x)
  local z = self.norm:forward(self.model.modules[2]:forward(h))
  if was then self.model:train() end
  return h, z
end

function Supervised:set_training(on)
  if on then self.model:train() else self.model:evaluate() end
end

function Supervised:state_dict()
  local t = {}
  for k, v in pairs(self.model:state_dict()) do t['model.' .. k] = v end
  t['method.generator'] = self.gen:get_state()
  return t
end

function Supervised:load_state_dict(t)
  local m = {}
  for k, v in pairs(t) do if k:sub(1, 6) == 'model.' then m[k:sub(7)] = v end end
  self.model:load_state_dict(m)
  self.gen:set_state(t['method.generator'])
end

return Supervised
