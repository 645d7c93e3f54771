-- SimCLR (Chen et al. 2020): two views through one network, NT-Xent with the
-- other 2N-2 views of the batch as negatives, a 2-layer MLP head, colour
-- distortion of strength s (0.8s, 0.8s, 0.8s, 0.2s, p 0.8), crop 0.08-1,
-- blur, LARS for large batches.
--
--   build/sslab recipes/simclr.lua [--preset small|cifar|imagenet] [--key value ...]
local recipe = require 'sslab.recipe'

local specs = {
  {'T', 0.5, 'NT-Xent temperature'},
}

local presets = {
  small = {dataset = 'auto', arch = 'resnet18', stem = 'cifar', width = 16, head = 'mlp', head_hidden = 128, dim = 128,
           T = 0.5, batch = 256, optimizer = 'sgd', lr = 0.06, wd = 5e-4, schedule = 'cosine', aug = 'simclr',
           crop_min = 0.08, jitter = 0.5, jitter_p = 0.8, grayscale = 0.2, blur = true, epochs = 8},
  cifar = {dataset = 'cifar10', arch = 'resnet18', stem = 'cifar', width = 64, head = 'mlp', head_hidden = 512,
           dim = 128, T = 0.5, batch = 512, optimizer = 'lars', lr = 1.0, wd = 1e-4, schedule = 'cosine', warmup = 10,
           aug = 'simclr', crop_min = 0.08, jitter = 0.5, blur = false, epochs = 1000},
  imagenet = {dataset = 'image_folder', arch = 'resnet50', stem = 'imagenet', width = 64, head = 'mlp',
              head_hidden = 2048, dim = 128, T = 0.1, batch = 4096, optimizer = 'lars', lr = 4.8, wd = 1e-6,
              schedule = 'cosine', warmup = 10, aug = 'simclr', crop_min = 0.08, jitter = 1.0, blur = true,
              size = 224, epochs = 100, workers = 8, knn_train = 0, knn_test = 0, probe = 'full'},
}

return recipe.main({
  name = 'simclr', description = 'SimCLR: in-batch negatives with NT-Xent',
  method = require 'sslab.methods.simclr', specs = specs, presets = presets, default_preset = 'small',
}, arg)
