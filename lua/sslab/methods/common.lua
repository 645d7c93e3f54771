-- Shared pieces of the training methods (lua/sslab/methods/*.lua).
--
-- A method owns the networks it trains and implements:
--   method.model                  the module whose parameters the optimiser updates
--   method:train_step(batch)      forward + backward (gradients accumulated into
--                                 method.model); returns loss, metrics table
--   method:after_step()           updates after the optimiser step (EMA, queue, bank)
--   method:embed(x)               h (pooled encoder feature) and z (normalised head
--                                 output) in evaluation mode, for kNN / probes
--   method:state_dict(), method:load_state_dict(t)   everything a resume needs
--   method.views                  1 or 2 augmented views per sample
local nn = require 'sslab.nn'
local heads = require 'sslab.heads'

local common = {}

--- encoder -> head -> L2 normalisation, as one Sequential with named parts.
--- The encoder's backward need not compute the gradient w.r.t. the images (nothing reads
--- it; PyTorch skips it too, inputs do not require grad): its first convolution skips it.
function common.no_image_grad(encoder)
  if encoder.conv1 then encoder.conv1.no_grad_input = true end
  return encoder
end

function common.projection_model(encoder, head_kind, cfg, rng)
  common.no_image_grad(encoder)
  local head, out_dim = heads.build(head_kind, encoder.feature_dim, {hidden = cfg.head_hidden, out = cfg.dim, rng = rng})
  local model = nn.Sequential()
  model:add(encoder, 'encoder')
  model:add(head, 'head')
  model:add(nn.Normalize(), 'norm')
  model:flatten_parameters()
  return model, out_dim or cfg.dim
end

--- h and z of x with the model in evaluation mode (restores the mode afterwards).
function common.embed(model, x)
  local was_training = model.training
  model:evaluate()
  local h = model.modules[1]:forward(x)
  local z = model.modules[3]:forward(model.modules[2]:forward(h))
  if was_training then model:train() end
  return h, z
end

--- Prefix every key of t (copying into out).
function common.prefixed(out, prefix, t)
  for k, v in pairs(t) do out[prefix .. k] = v end
  return out
end

--- Entries of t whose key starts with prefix, with the prefix removed.
function common.strip(t, prefix)
  local out = {}
  for k, v in pairs(t) do
    if k:sub(1, #prefix) == prefix then out[k:sub(#prefix + 1)] = v end
  end
  return out
end

--- Copy the state of a generator into a checkpoint table and back.
function common.save_generator(out, name, gen) out[name] = gen:get_state() end
function common.load_generator(t, name, gen)
  if not t[name] then error(string.format("resume: checkpoint has no '%s'", name), 0) end
  gen:set_state(t[name])
end

return common
