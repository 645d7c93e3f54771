-- sslab.heads: projection heads, the paper's Section 2 ablation as one setting.
--
--   heads.build('mlp', in_dim, {hidden = 2048, out = 128})
--   kinds: 'none'     z = h (no head)
--          'linear'   fc(in, out)                      (MoCo v1, InstDisc)
--          'mlp'      fc(in, hidden) - ReLU - fc(hidden, out)   (MoCo v2, SimCLR)
--          'fixed'    the mlp with uniform random weights, frozen (never trained)
--          'deeper'   fc - ReLU - fc - ReLU - fc
--          'narrower' the mlp with a small hidden layer (hidden defaults to out / 4)
-- A recipe may also pass a function(in_dim, opts) -> module (any table with the
-- module contract), or a module itself.
local nn = require 'sslab.nn'

local heads = {}
heads.kinds = {'none', 'linear', 'mlp', 'fixed', 'deeper', 'narrower'}

local function mlp(dims, rng)
  local layers = {}
  for i = 1, #dims - 1 do
    layers[#layers + 1] = nn.Linear(dims[i], dims[i + 1], {rng = rng})
    if i < #dims - 1 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(layers)
end

--- A head module for features of width in_dim. opts: hidden, out, rng, fixed_range.
function heads.build(kind, in_dim, opts)
  opts = opts or {}
  local out, hidden = opts.out or 128, opts.hidden or in_dim
  if type(kind) == 'function' then return kind(in_dim, opts) end
  if type(kind) == 'table' then return kind end
  if kind == 'none' then return nn.Identity(), in_dim end
  if kind == 'linear' then return mlp({in_dim, out}, opts.rng), out end
  if kind == 'mlp' then return mlp({in_dim, hidden, out}, opts.rng), out end
  if kind == 'deeper' then return mlp({in_dim, hidden, hidden, out}, opts.rng), out end
  if kind == 'narrower' then return mlp({in_dim, opts.hidden or math.max(1, out // 4), out}, opts.rng), out end
  if kind == 'fixed' then
    local head = mlp({in_dim, hidden, out}, opts.rng)
    local range = opts.fixed_range or 1 / math.sqrt(in_dim)
    for _, rec in ipairs(head:named_parameters()) do rec.param:uniform_(-range, range, opts.rng) end
    head:freeze()
    return head, out
  end
  error(string.format("head: unknown kind '%s' (one of %s, or a function)", tostring(kind), table.concat(heads.kinds, ', ')), 2)
end

--- Output width of a head kind.
function heads.out_dim(kind, in_dim, opts)
  if kind == 'none' then return in_dim end
  return (opts and opts.out) or 128
end

return heads
