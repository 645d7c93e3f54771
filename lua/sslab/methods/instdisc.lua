-- Instance discrimination with a memory bank (Wu et al. 2018): one view per
-- sample, its feature contrasted against the bank (NCE with `negatives` noise
-- samples, or the full softmax when negatives = 0); after the step the bank
-- entries of the batch move toward the new features with momentum 0.5.
local sslab = require 'sslab'
local ssl = require 'sslab.ssl'
local common = require 'sslab.methods.common'

local InstDisc = {}
InstDisc.__index = InstDisc

--- cfg: dim, T, head ('linear' in InstDisc), negatives (K), bank_momentum, dataset_size.
function InstDisc.new(cfg, encoder)
  local self = setmetatable({cfg = cfg, views = 1}, InstDisc)
  self.gen = sslab.Generator(cfg.seed * 7919 + 17)
  self.model = common.projection_model(encoder, cfg.head, cfg, self.gen)
  self.bank = ssl.MemoryBank{size = cfg.dataset_size, dim = cfg.dim, momentum = cfg.bank_momentum,
                             negatives = cfg.K, T = cfg.T, generator = self.gen}
  return self
end

function InstDisc:train_step(batch)
  local x = batch.views[1]
  local f = self.model:forward(x)
  local loss, grad, acc = self.bank:loss(f, batch.indices, self.gen)
  self.model:backward(x, grad)
  self.last_f, self.last_idx = f, batch.indices
  return loss, acc and {acc = acc} or {}
end

function InstDisc:after_step()
  self.bank:update(self.last_f, self.last_idx)
end

function InstDisc:embed(x) return common.embed(self.model, x) end

function InstDisc:set_training(on)
  if on then self.model:train() else self.model:evaluate() end
end

function InstDisc:state_dict()
  local t = common.prefixed({}, 'model.', self.model:state_dict())
  common.prefixed(t, 'bank.', self.bank:state_dict())
  common.save_generator(t, 'method.generator', self.gen)
  return t
end

function InstDisc:load_state_dict(t)
  self.model:load_state_dict(common.strip(t, 'model.'))
  self.bank:load_state_dict(t, 'bank.')
  common.load_generator(t, 'method.generator', self.gen)
end

return InstDisc
