-- MoCo v1 (He et al. 2020): a linear (fc) head to 128-d, T = 0.07, the v1
-- augmentation (crop 0.2-1, colour jitter 0.4 x 4 always applied, grayscale
-- 0.2, no blur) and the step schedule (x0.1 at 60% and 80%: epochs 120, 160 of 200).
--
--   build/sslab recipes/mocov1.lua [--preset small|imagenet] [--key value ...]
local recipe = require 'sslab.recipe'

local specs = {
  {'K', 4096, 'queue size (number of negatives)'},
  {'m', 0.99, 'key-encoder momentum'},
  {'T', 0.07, 'InfoNCE temperature'},
  {'hard_negatives', false, 'draw negatives from the queue by similarity rank (skew-normal)'},
  {'hn_xi', 0.0, 'hard negatives: skew-normal location (rank fraction)'},
  {'hn_omega', 0.3, 'hard negatives: skew-normal scale (rank fraction)'},
  {'hn_alpha', 4.0, 'hard negatives: skew-normal shape'},
  {'hn_M', 0, 'hard negatives drawn per query (0: K)'},
}

local common = {aug = 'mocov1', crop_min = 0.2, jitter = 0.5, hue = 0.4, jitter_p = 1.0, grayscale = 0.2, blur = false,
                head = 'linear', dim = 128, T = 0.07, schedule = 'step', milestones = '0.6,0.8'}
local function with(t)
  local out = {}
  for k, v in pairs(common) do out[k] = v end
  for k, v in pairs(t) do out[k] = v end
  return out
end

local presets = {
  small = with{dataset = 'auto', arch = 'resnet18', stem = 'cifar', width = 16, K = 4096, m = 0.99, batch = 256,
               lr = 0.06, wd = 5e-4, epochs = 8},
  imagenet = with{dataset = 'image_folder', arch = 'resnet50', stem = 'imagenet', width = 64, K = 65536, m = 0.999,
                  batch = 256, lr = 0.03, wd = 1e-4, size = 224, epochs = 200, bn_splits = 8, workers = 8,
                  knn_train = 0, knn_test = 0, probe = 'full'},
}

return recipe.main({
  name = 'mocov1', description = 'MoCo v1: momentum contrast with a linear head, T 0.07, step schedule',
  method = require 'sslab.methods.moco', specs = specs, presets = presets, default_preset = 'small',
}, arg)
