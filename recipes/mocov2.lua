-- MoCo v2 (Chen, Fan, Girshick, He 2020): MoCo with an MLP head, T = 0.2,
-- "aug+" (colour jitter p 0.8, grayscale, Gaussian blur) and a cosine schedule.
--
--   build/sslab recipes/mocov2.lua                      -- --preset small (2-core machine)
--   build/sslab recipes/mocov2.lua --preset imagenet --data_root /data/imagenet
--   build/sslab recipes/mocov2.lua --head none --K 1024 --T 0.1 --epochs 5
--   build/sslab recipes/mocov2.lua --hard_negatives on --hn_alpha 4
--   build/sslab recipes/mocov2.lua --help
local recipe = require 'sslab.recipe'

local moco_specs = {
  {'K', 4096, 'queue size (number of negatives)'},
  {'m', 0.99, 'key-encoder momentum (0: the key encoder is the query encoder)'},
  {'T', 0.2, 'InfoNCE temperature'},
  {'hard_negatives', false, 'draw negatives from the queue by similarity rank (skew-normal)'},
  {'hn_xi', 0.0, 'hard negatives: skew-normal location (rank fraction, 0 = hardest)'},
  {'hn_omega', 0.3, 'hard negatives: skew-normal scale (rank fraction)'},
  {'hn_alpha', 4.0, 'hard negatives: skew-normal shape (> 0 favours hard ones)'},
  {'hn_M', 0, 'hard negatives drawn per query (0: K, over-sampling to keep K negatives)'},
}

local presets = {
  small = {dataset = 'auto', arch = 'resnet18', stem = 'cifar', width = 16, head = 'mlp', head_hidden = 128, dim = 128,
           K = 4096, m = 0.99, T = 0.2, batch = 256, optimizer = 'sgd', lr = 0.06, momentum = 0.9, wd = 5e-4,
           schedule = 'cosine', bn_splits = 1, aug = 'mocov2', crop_min = 0.2, crop_max = 1.0, jitter = 0.5,
           jitter_p = 0.8, grayscale = 0.2, blur = true, epochs = 3},
  imagenet = {dataset = 'image_folder', arch = 'resnet50', stem = 'imagenet', width = 64, head = 'mlp',
              head_hidden = 2048, dim = 128, K = 65536, m = 0.999, T = 0.2, batch = 256, optimizer = 'sgd', lr = 0.03,
              momentum = 0.9, wd = 1e-4, schedule = 'cosine', bn_splits = 8, aug = 'mocov2', crop_min = 0.2,
              jitter = 0.5, jitter_p = 0.8, grayscale = 0.2, blur = true, size = 224, epochs = 200, workers = 8,
              knn_train = 0, knn_test = 0, probe = 'full'},
}

return recipe.main({
  name = 'mocov2', description = 'MoCo v2: momentum contrast with an MLP head, aug+ and a cosine schedule',
  method = require 'sslab.methods.moco', specs = moco_specs, presets = presets, default_preset = 'small',
}, arg)
