-- sslab.nn: layers, containers, losses and ResNets on top of the C kernels (core.nn).
-- See docs/nn.md. Every class is callable: nn.Linear(4, 2) == nn.Linear.new(4, 2).
local core = require 'sslab.core'

local nn = {}
nn.Module = require 'sslab.nn.module'
for k, v in pairs(require 'sslab.nn.containers') do nn[k] = v end
nn.Conv2d = require 'sslab.nn.conv'
for k, v in pairs(require 'sslab.nn.batchnorm') do nn[k] = v end
nn.Linear = require 'sslab.nn.linear'
for k, v in pairs(require 'sslab.nn.activation') do nn[k] = v end
for k, v in pairs(require 'sslab.nn.pool') do nn[k] = v end
for k, v in pairs(require 'sslab.nn.flatten') do nn[k] = v end
for k, v in pairs(require 'sslab.nn.normalize') do nn[k] = v end
for k, v in pairs(require 'sslab.nn.loss') do nn[k] = v end
for k, v in pairs(require 'sslab.nn.resnet') do nn[k] = v end
nn.kernels = core.nn -- the raw C bindings

return nn
