-- sslab: self-supervised representation learning lab.
--
--   local sslab = require 'sslab'
--   local x = sslab.randn(8, 3)          -- tensors, 1-based dims and indices
--   print(x:matmul(sslab.randn(3, 2)))
--
-- The C runtime (sslab.core) provides tensors, kernels and I/O; the Lua
-- modules under lua/sslab/ compose them. This file assembles the public table.
local core = require 'sslab.core'

local sslab = {}
for k, v in pairs(core) do sslab[k] = v end

sslab.version = '0.1.0'
sslab.core = core -- the raw C module (kernels under core.nn, core.ssl, core.eval, ...)

--- sslab.where(cond, a, b): elementwise cond ? a : b (a, b tensors or numbers).
sslab.where = core.Tensor.where

-- Submodules load on first use: sslab.nn, sslab.data, ... (each is lua/sslab/<name>.lua
-- or lua/sslab/<name>/init.lua). Add a name here to make it reachable as sslab.<name>.
local submodules = {
  nn = true, optim = true, schedule = true, data = true, aug = true, image = true, plot = true,
  options = true, progress = true, json = true, train = true, eval = true, ssl = true, repl = true,
}
-- Where the C module has a subtable of the same name (core.nn, core.optim, core.ssl,
-- core.eval, core.image: the raw kernel bindings, still reachable as sslab.core.<name>),
-- the Lua layer wins: drop the copy so the lazy loader below finds it.
for name in pairs(submodules) do sslab[name] = nil end
setmetatable(sslab, {__index = function(t, key)
  if submodules[key] then
    local m = require('sslab.' .. key)
    rawset(t, key, m)
    return m
  end
end})

return sslab
