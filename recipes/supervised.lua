-- Supervised training with cross-entropy: the reference for the paper's
-- "augmentation for contrastive learning versus for supervised learning".
-- --aug supervised (crop 0.08-1 + flip) is the classic supervised pipeline;
-- --aug mocov2 trains the same network on MoCo v2's augmentation.
--
--   build/sslab recipes/supervised.lua [--preset small|imagenet] [--aug mocov2] [--key value ...]
local recipe = require 'sslab.recipe'

local specs = {
  {'label_smoothing', 0.0, 'label smoothing of the cross-entropy'},
}

local presets = {
  small = {dataset = 'auto', arch = 'resnet18', stem = 'cifar', width = 16, batch = 256, lr = 0.1, wd = 5e-4,
           schedule = 'cosine', aug = 'supervised', crop_min = 0.08, epochs = 8},
  imagenet = {dataset = 'image_folder', arch = 'resnet50', stem = 'imagenet', width = 64, batch = 256, lr = 0.1,
              wd = 1e-4, schedule = 'step', milestones = '0.3333,0.6667,0.8889', aug = 'supervised', crop_min = 0.08,
              size = 224, epochs = 90, workers = 8, knn_train = 0, knn_test = 0},
}

return recipe.main({
  name = 'supervised', description = 'supervised cross-entropy training',
  method = require 'sslab.methods.supervised', specs = specs, presets = presets, default_preset = 'small',
}, arg)
