-- Instance discrimination (Wu et al. 2018): a memory bank of one 128-d feature
-- per training image, updated with momentum 0.5; NCE against K = 4096 noise
-- samples drawn uniformly from the bank (K = 0: the full softmax), T = 0.07,
-- the MoCo v1 augmentation, a step schedule.
--
--   build/sslab recipes/instdisc.lua [--preset small|imagenet] [--K 0] [--key value ...]
local recipe = require 'sslab.recipe'

local specs = {
  {'K', 4096, 'noise samples per feature for NCE (0: full softmax over the bank)'},
  {'T', 0.07, 'temperature'},
  {'bank_momentum', 0.5, 'memory-bank update momentum'},
}

local presets = {
  small = {dataset = 'auto', arch = 'resnet18', stem = 'cifar', width = 16, head = 'linear', dim = 128, K = 4096,
           T = 0.07, bank_momentum = 0.5, batch = 256, lr = 0.06, wd = 5e-4, schedule = 'step', milestones = '0.6,0.8',
           aug = 'mocov1', crop_min = 0.2, jitter = 0.5, hue = 0.4, jitter_p = 1.0, grayscale = 0.2, blur = false,
           epochs = 8},
  imagenet = {dataset = 'image_folder', arch = 'resnet50', stem = 'imagenet', width = 64, head = 'linear', dim = 128,
              K = 4096, T = 0.07, bank_momentum = 0.5, batch = 256, lr = 0.03, wd = 1e-4, schedule = 'step',
              milestones = '0.6,0.8', aug = 'mocov1', crop_min = 0.2, jitter = 0.5, hue = 0.4, jitter_p = 1.0,
              blur = false, size = 224, epochs = 200, workers = 8, knn_train = 0, knn_test = 0, probe = 'full'},
}

return recipe.main({
  name = 'instdisc', description = 'InstDisc: instance discrimination with a memory bank',
  method = require 'sslab.methods.instdisc', specs = specs, presets = presets, default_preset = 'small',
}, arg)
