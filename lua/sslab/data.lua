-- sslab.data: datasets and the batch loader.
--
--   local data, aug = sslab.data, sslab.aug
--   local ds = assert(data.fashion_mnist{split = 'train'})   -- nil, msg when the files are missing
--   print(#ds, ds.classes[1])                                -- 60000  T-shirt/top
--   local img, label = ds:get(1)                              -- uint8 [1 x 28 x 28], label 1-based
--   local loader = data.loader(ds, {batch = 256, workers = 4, seed = 1,
--                                   transform = aug.two_views(aug.preset('mocov2', {size = 28}))})
--   for batch in loader:epoch(1) do
--     -- batch.views[1], batch.views[2]: float32 [256 x 1 x 28 x 28]
--     -- batch.labels, batch.indices: int64 [256], 1-based
--   end
--
-- Every dataset has #ds, ds:get(i) -> image (uint8 [C x H x W]), label (1-based; nil
-- if unlabelled), ds.classes (names) and ds:subset(indices). Datasets built here are
-- C datasets (ds._c), which the loader reads from worker threads; any Lua table with
-- __len and get works too (the loader then runs on the main thread).
--
-- File conventions: a missing file gives nil, message (as io.open); a file that is
-- there but wrong raises an error naming it.
local core = require 'sslab.core'
local aug = require 'sslab.aug'
local C = core._data

local data = {}

-- {===== datasets ===========================================================

local Dataset = {}
Dataset.__index = Dataset
data.Dataset = Dataset

function Dataset.__len(self) return #self._c end
function Dataset.__tostring(self)
  return string.format('%s dataset: %d samples, %d classes', self.name, #self._c, #self.classes)
end

--- ds:get(i) -> image uint8 [C x H x W], label (1-based) or nil.
-- In-memory sets return a view of their memory: clone it before writing into it.
function Dataset:get(i) return self._c:get(i) end

--- ds:subset(indices) -> a dataset of the samples indices (1-based; table or int64 tensor).
function Dataset:subset(indices)
  return data.wrap(self._c:subset(indices), self.classes, self.name .. '[subset]')
end

--- data.wrap(c_dataset, classes, name): a Dataset around a core._data dataset.
function data.wrap(c, classes, name)
  return setmetatable({_c = c, classes = classes or {}, name = name or c:kind()}, Dataset)
end

local function numbered(n)
  local t = {}
  for i = 1, n do t[i] = tostring(i - 1) end
  return t
end

local function check_opts(fname, opts, allowed)
  opts = opts or {}
  if type(opts) ~= 'table' then error(string.format('data.%s: options must be a table', fname), 3) end
  for k in pairs(opts) do
    if not allowed[k] then
      local names = {}
      for a in pairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      error(string.format("data.%s: unknown option '%s' (valid: %s)", fname, tostring(k), table.concat(names, ', ')), 3)
    end
  end
  return opts
end

local function set(...)
  local s = {}
  for _, k in ipairs{...} do s[k] = true end
  return s
end

local function exists(path) return C.stat(path) == 'file' end

local function check_split(fname, split, allowed)
  for _, a in ipairs(allowed) do if split == a then return split end end
  error(string.format("data.%s: unknown split '%s' (%s)", fname, tostring(split), table.concat(allowed, ', ')), 3)
end

--- data.tensors(images, labels, {classes = {...}}): images uint8 [N x C x H x W] or
-- [N x H x W]; labels int64 [N] 1-based (or nil).
function data.tensors(images, labels, opts)
  opts = check_opts('tensors', opts, set('classes', 'name'))
  local classes = opts.classes or {}
  return data.wrap(C.from_tensors(images, labels, #classes), classes, opts.name or 'tensors')
end

-- {===== IDX: MNIST, Fashion-MNIST =====

data.FASHION_MNIST_CLASSES = {'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker',
                              'Bag', 'Ankle boot'}
data.FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist'

-- root/<stem>, with or without .gz
local function idx_file(root, stem)
  for _, p in ipairs{root .. '/' .. stem .. '.gz', root .. '/' .. stem} do
    if exists(p) then return p end
  end
  return nil, root .. '/' .. stem .. '(.gz)'
end

local function idx_dataset(fname, opts, classes, default_root, hint)
  opts = check_opts(fname, opts, set('root', 'split'))
  local split = check_split(fname, opts.split or 'train', {'train', 'test'})
  local root = opts.root or default_root
  if not root then error(string.format('data.%s: needs root = the folder of the IDX files', fname), 3) end
  local prefix = split == 'train' and 'train' or 't10k'
  local ip, missing = idx_file(root, prefix .. '-images-idx3-ubyte')
  local lp, missing2 = idx_file(root, prefix .. '-labels-idx1-ubyte')
  if not ip or not lp then
    local msg = string.format('%s: %s: no such file', fname, missing or missing2)
    if not opts.root and hint then msg = msg .. ' (' .. hint .. ', or pass root = the folder of the IDX files)' end
    return nil, msg
  end
  local images, labels = C.idx_load_pair(ip, lp, #classes)
  if not images then return nil, labels end
  local ds = data.tensors(images, labels, {classes = classes, name = fname .. ' ' .. split})
  ds.root, ds.split = root, split
  return ds
end

--- data.fashion_mnist{root = '/usr/share/datasets/fashion-mnist', split = 'train'|'test'}
-- IDX files (gzip or raw): train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-...
-- The default root is where Debian's dataset-fashion-mnist package installs them.
function data.fashion_mnist(opts)
  return idx_dataset('fashion_mnist', opts, data.FASHION_MNIST_CLASSES, data.FASHION_MNIST_ROOT,
                     'install it with: apt-get install dataset-fashion-mnist')
end

--- data.mnist{root = ..., split = 'train'|'test'}: the same IDX layout.
function data.mnist(opts) return idx_dataset('mnist', opts, numbered(10), nil, nil) end

-- }=====

-- {===== CIFAR =====

data.CIFAR10_CLASSES = {'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'}
data.CIFAR100_CLASSES = {
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle', 'bowl', 'boy',
  'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle', 'chair', 'chimpanzee', 'clock',
  'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur', 'dolphin', 'elephant', 'flatfish', 'forest',
  'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard', 'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard',
  'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain', 'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid',
  'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree', 'plain', 'plate', 'poppy', 'porcupine', 'possum',
  'rabbit', 'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper',
  'snail', 'snake', 'spider', 'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone',
  'television', 'tiger', 'tractor', 'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf',
  'woman', 'worm'}
data.CIFAR100_COARSE_CLASSES = {
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables', 'household_electrical_devices',
  'household_furniture', 'insects', 'large_carnivores', 'large_man-made_outdoor_things',
  'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores', 'medium_mammals', 'non-insect_invertebrates',
  'people', 'reptiles', 'small_mammals', 'trees', 'vehicles_1', 'vehicles_2'}

-- root, or its subfolder `sub` when root holds the unpacked archive's folder
local function find_root(root, sub, probe)
  if not exists(root .. '/' .. probe) and C.stat(root .. '/' .. sub) == 'directory' then return root .. '/' .. sub end
  return root
end

--- data.cifar10{root = ..., split = 'train'|'test'}: root holds data_batch_*.bin and
-- test_batch.bin (the "binary version"; or its parent holding cifar-10-batches-bin/).
function data.cifar10(opts)
  opts = check_opts('cifar10', opts, set('root', 'split'))
  local split = check_split('cifar10', opts.split or 'train', {'train', 'test'})
  if not opts.root then error('data.cifar10: needs root = the folder of data_batch_*.bin / test_batch.bin', 2) end
  local root = find_root(opts.root, 'cifar-10-batches-bin', 'test_batch.bin')
  local files = {}
  if split == 'test' then
    files[1] = root .. '/test_batch.bin'
  else
    local names, err = C.listdir(root)
    if not names then return nil, 'cifar10: ' .. err end
    for _, n in ipairs(names) do
      if n:match('^data_batch_%d+%.bin$') then files[#files + 1] = root .. '/' .. n end
    end
    if #files == 0 then return nil, 'cifar10: ' .. root .. '/data_batch_1.bin: no such file' end
  end
  local images, labels = C.cifar_load(10, files)
  if not images then return nil, labels end
  local ds = data.tensors(images, labels, {classes = data.CIFAR10_CLASSES, name = 'cifar10 ' .. split})
  ds.root, ds.split = root, split
  return ds
end

--- data.cifar100{root = ..., split = 'train'|'test', labels = 'fine'|'coarse'}: root holds
-- train.bin and test.bin (or its parent holding cifar-100-binary/).
function data.cifar100(opts)
  opts = check_opts('cifar100', opts, set('root', 'split', 'labels'))
  local split = check_split('cifar100', opts.split or 'train', {'train', 'test'})
  local kind = opts.labels or 'fine'
  if kind ~= 'fine' and kind ~= 'coarse' then error("data.cifar100: labels must be 'fine' or 'coarse'", 2) end
  if not opts.root then error('data.cifar100: needs root = the folder of train.bin / test.bin', 2) end
  local root = find_root(opts.root, 'cifar-100-binary', 'test.bin')
  local images, fine, coarse = C.cifar_load(100, {root .. '/' .. split .. '.bin'})
  if not images then return nil, fine end
  local coarse_ds = kind == 'coarse'
  local ds = data.tensors(images, coarse_ds and coarse or fine,
                          {classes = coarse_ds and data.CIFAR100_COARSE_CLASSES or data.CIFAR100_CLASSES,
                           name = 'cifar100 ' .. split})
  ds.root, ds.split = root, split
  return ds
end

-- }=====

-- {===== STL-10 =====

data.STL10_CLASSES = {'airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'}

--- data.stl10{root = ..., split = 'train'|'test'|'unlabeled', first = 1, count = all}: the
-- binary files train_X.bin, train_y.bin, test_X.bin, test_y.bin, unlabeled_X.bin (or
-- their parent holding stl10_binary/). first/count read a slice of the images
-- (unlabeled_X.bin holds 100000 images, 2.7 GB).
function data.stl10(opts)
  opts = check_opts('stl10', opts, set('root', 'split', 'first', 'count'))
  local split = check_split('stl10', opts.split or 'train', {'train', 'test', 'unlabeled'})
  if not opts.root then error('data.stl10: needs root = the folder of the *_X.bin files', 2) end
  local root = find_root(opts.root, 'stl10_binary', split .. '_X.bin')
  local images, err = C.stl10_load_images(root .. '/' .. split .. '_X.bin', opts.first or 1, opts.count or -1)
  if not images then return nil, err end
  local labels
  if split ~= 'unlabeled' then
    labels, err = C.stl10_load_labels(root .. '/' .. split .. '_y.bin')
    if not labels then return nil, err end
    if opts.first or opts.count then labels = labels:narrow(1, opts.first or 1, images:size(1)) end
    if labels:size(1) ~= images:size(1) then
      error(string.format('stl10: %s/%s_y.bin holds %d labels but %s_X.bin %d images', root, split, labels:size(1),
                          split, images:size(1)), 2)
    end
  end
  local ds = data.tensors(images, labels, {classes = data.STL10_CLASSES, name = 'stl10 ' .. split})
  ds.root, ds.split = root, split
  return ds
end

-- }=====

-- {===== image folders =====

local IMAGE_EXTENSIONS = {jpg = true, jpeg = true, png = true}

--- data.image_folder{root = ...}: root/<class>/**/*.{jpg,jpeg,png} (extensions in any
-- case, subfolders of a class included); classes are the sorted folder names, files
-- sorted by path within each class. Images are decoded when a sample is read, so
-- ImageNet-sized folders only cost the list of paths. ds.paths holds the paths.
function data.image_folder(opts)
  if type(opts) == 'string' then opts = {root = opts} end
  opts = check_opts('image_folder', opts, set('root'))
  local root = opts.root
  if not root then error('data.image_folder: needs root', 2) end
  local names, kinds = C.listdir(root)
  if not names then return nil, 'image_folder: ' .. kinds end
  local classes, paths, labels = {}, {}, {}
  local function walk(dir, label)
    local n, k = C.listdir(dir)
    if not n then error('image_folder: ' .. k, 0) end
    for i, name in ipairs(n) do
      local p = dir .. '/' .. name
      if k[i] == 'directory' then
        walk(p, label)
      elseif k[i] == 'file' then
        local ext = name:match('%.([^./]+)$')
        if ext and IMAGE_EXTENSIONS[ext:lower()] then
          paths[#paths + 1] = p
          labels[#labels + 1] = label
        end
      end
    end
  end
  for i, name in ipairs(names) do
    if kinds[i] == 'directory' and name:sub(1, 1) ~= '.' then
      classes[#classes + 1] = name
      walk(root .. '/' .. name, #classes)
    end
  end
  if #classes == 0 then error('image_folder: ' .. root .. ': no class folders', 2) end
  if #paths == 0 then error('image_folder: ' .. root .. ': no .jpg/.jpeg/.png files in the class folders', 2) end
  local ds = data.wrap(C.files(paths, labels, #classes), classes, 'image_folder')
  ds.root, ds.paths = root, paths
  return ds
end

-- }=====

--- data.synthetic{n = 1000, size = 32, seed = 0}: rendered shapes of 10 classes on
-- textured backgrounds (runtime/data/synthetic.h); sample i is a pure function of (seed, i).
data.SYNTHETIC_CLASSES = {'circle', 'square', 'triangle', 'star', 'cross', 'ring', 'diamond', 'hexagon', 'crescent',
                          'heart'}
function data.synthetic(opts)
  opts = check_opts('synthetic', opts, set('n', 'size', 'seed'))
  local ds = data.wrap(C.synthetic(opts.seed or 0, opts.n or 1000, opts.size or 32), data.SYNTHETIC_CLASSES,
                       'synthetic')
  return ds
end

-- }=========================================================================

-- {===== the loader ===========================================================

local Loader = {}
Loader.__index = Loader
data.Loader = Loader

local function as_views(transform)
  if transform == nil then return {aug.compose{}} end
  if getmetatable(transform) == aug.TwoViews then return {transform[1], transform[2]} end
  if getmetatable(transform) == aug.Pipeline then return {transform} end
  if type(transform) == 'function' or aug.Op == getmetatable(transform) then return {aug.compose{transform}} end
  if type(transform) == 'table' and transform.apply and #transform == 0 then return {aug.compose{transform}} end
  if type(transform) == 'table' then return {aug.compose(transform)} end
  error('data.loader: transform must be a pipeline, aug.two_views(...), a list of steps or a function', 3)
end

--- data.loader(ds, opts) -> loader.
-- opts: batch (required), shuffle (true), drop_last (true), transform (a pipeline, a
-- two_views, a list of steps or nil = to_float only), workers (2), seed (0), prefetch
-- (batches prepared ahead; default 2 per worker), channels (3 makes grey images RGB).
-- Uses the C loader (worker threads) when ds is a C dataset and every transform step is
-- a C op; otherwise a Lua loop on the main thread with the same batches (same order,
-- same per-sample generators).
function data.loader(ds, opts)
  opts = check_opts('loader', opts, set('batch', 'shuffle', 'drop_last', 'transform', 'workers', 'seed', 'prefetch',
                                        'channels'))
  if type(opts.batch) ~= 'number' or opts.batch < 1 then error('data.loader: batch must be a number >= 1', 2) end
  local n = #ds
  if n < 1 then error('data.loader: the dataset is empty', 2) end
  local views = as_views(opts.transform)
  local self = setmetatable({
    dataset = ds, views = views, batch = math.tointeger(opts.batch), shuffle = opts.shuffle ~= false,
    drop_last = opts.drop_last ~= false, workers = opts.workers or 2, seed = opts.seed or 0,
    channels = opts.channels, num_views = #views,
  }, Loader)
  local pure_c = true
  for _, v in ipairs(views) do pure_c = pure_c and v.pure_c end
  if type(ds) == 'table' and ds._c and pure_c then
    self.mode = 'c'
    self._c = C.loader(ds._c, {batch = self.batch, shuffle = self.shuffle, drop_last = self.drop_last,
                               workers = self.workers, seed = self.seed, prefetch = opts.prefetch,
                               channels = opts.channels}, views[1]:c_ops(), views[2] and views[2]:c_ops())
    self.nbatches = self._c:num_batches()
  else
    self.mode = 'lua'
    self.nbatches = self.drop_last and n // self.batch or (n + self.batch - 1) // self.batch
    if self.nbatches < 1 then
      error(string.format('data.loader: %d samples make no full batch of %d (set drop_last = false)', n, self.batch), 2)
    end
  end
  return self
end

--- loader:batches_per_epoch()
function Loader:batches_per_epoch() return self.nbatches end

function Loader:__len() return self.nbatches end

local function lua_batch(self, epoch, order, b)
  local ds, first = self.dataset, (b - 1) * self.batch
  local size = math.min(self.batch, #order - first)
  local outs, labels, indices = {}, {}, {}
  for v = 1, self.num_views do outs[v] = {} end
  local labelled = false
  for k = 1, size do
    local index = order[first + k]
    local img, label = ds:get(index)
    if not core.is_tensor(img) then error('data.loader: dataset:get(' .. index .. ') gave no image tensor', 0) end
    local gen = C.sample_generator(self.seed, epoch, index)
    for v = 1, self.num_views do outs[v][k] = self.views[v]:apply(img, gen, self.channels) end
    labels[k] = label or 0
    labelled = labelled or label ~= nil
    indices[k] = index
  end
  local batch = {number = b, epoch = epoch, size = size, views = {},
                 labels = labelled and core.tensor(labels, 'int64') or nil, indices = core.tensor(indices, 'int64')}
  for v = 1, self.num_views do
    local ok, res = pcall(core.stack, outs[v], 1)
    if not ok then
      error('data.loader: the samples of batch ' .. b .. ' give views of different shapes (add a crop or resize to '
            .. 'the transform): ' .. tostring(res), 0)
    end
    batch.views[v] = res
  end
  return batch
end

--- loader:epoch(e[, start]) -> iterator over the batches of epoch e, from batch `start`
-- (1-based; to resume mid-epoch). Each batch is a table:
--   views = {float32 [N x C x H x W], ...}, labels = int64 [N] (1-based; nil if unlabelled),
--   indices = int64 [N] (1-based dataset indices), number (1-based batch number), size, epoch.
-- Batch tensors stay valid as long as they are referenced. One epoch iterates at a time.
function Loader:epoch(e, start)
  if type(start) == 'table' then start = start.start end
  start = start or 1
  if math.type(e) ~= 'integer' then error('loader:epoch: epoch must be an integer', 2) end
  if start < 1 or start > self.nbatches + 1 then
    error(string.format('loader:epoch: start batch %d out of range [1, %d]', start, self.nbatches), 2)
  end
  if self.mode == 'c' then
    local cl = self._c
    cl:start(e, start)
    return function()
      local number, v1, v2, labels, indices = cl:next()
      if not number then return nil end
      return {number = number, epoch = e, size = #indices, views = {v1, v2}, labels = labels, indices = indices}
    end
  end
  local order = C.epoch_order(#self.dataset, self.seed, e, self.shuffle):totable()
  local b = start - 1
  return function()
    b = b + 1
    if b > self.nbatches then return nil end
    return lua_batch(self, e, order, b)
  end
end

--- loader:close(): stop the worker threads now (also done by the garbage collector).
function Loader:close()
  if self._c then self._c:close() end
end

-- }=========================================================================

return data
