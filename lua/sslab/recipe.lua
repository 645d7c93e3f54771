-- sslab.recipe: what every bundled recipe shares, from the command line to the report.
--
--   -- recipes/mocov2.lua
--   return require('sslab.recipe').main({
--     name = 'mocov2', method = require 'sslab.methods.moco',
--     specs = {{'K', 4096, 'queue size'}, ...},          -- method settings
--     defaults = {lr = 0.06, head = 'mlp', ...},          -- overrides of the common defaults
--     presets = {small = {...}, imagenet = {...}}, default_preset = 'small',
--   }, arg)
--
-- main() parses --key value options (recipe.common_specs + the recipe's specs),
-- builds the data, the encoder, the method, the optimiser and the LR schedule,
-- trains with sslab.train (kNN monitor after each epoch, a checkpoint and a
-- plot in the run folder), then evaluates with kNN and a linear probe on h and
-- z next to the same probe on the randomly initialised encoder.
-- `--resume <run folder>` continues a stopped run from its last checkpoint.
local sslab = require 'sslab'
local options = require 'sslab.options'
local json = require 'sslab.json'
local heads = require 'sslab.heads'
local eval = require 'sslab.eval'
local train = require 'sslab.train'
local runs = require 'sslab.run'

local recipe = {}

recipe.common_specs = {
  {'dataset', 'auto', 'training data; auto: Fashion-MNIST if installed, else synthetic',
   choices = {'auto', 'fashion_mnist', 'mnist', 'synthetic', 'cifar10', 'cifar100', 'stl10', 'image_folder'}},
  {'data_root', '', 'dataset folder (empty: the default location)'},
  {'synthetic_n', 20000, 'training images of the synthetic set'},
  {'size', 0, 'training crop side (0: the images\' own side)'},
  {'arch', 'resnet18', 'encoder', choices = {'resnet18', 'resnet34', 'resnet50'}},
  {'stem', 'cifar', 'ResNet stem', choices = {'cifar', 'imagenet'}},
  {'width', 16, 'channels of the first ResNet stage (64 is standard)'},
  {'bn_splits', 1, 'BatchNorm statistics per group of batch/bn_splits samples (shuffle-BN)'},
  {'head', 'mlp', 'projection head', choices = heads.kinds},
  {'head_hidden', 128, 'hidden width of the mlp / fixed / deeper heads (narrower: smaller)'},
  {'dim', 128, 'output dimension of the head'},
  {'epochs', 20, 'training epochs'},
  {'batch', 256, 'batch size'},
  {'optimizer', 'sgd', 'optimiser', choices = {'sgd', 'lars'}},
  {'lr', 0.06, 'learning rate (not scaled with the batch)'},
  {'momentum', 0.9, 'SGD momentum'},
  {'wd', 5e-4, 'weight decay'},
  {'schedule', 'cosine', 'learning-rate schedule', choices = {'cosine', 'step', 'constant'}},
  {'milestones', '0.6,0.8', 'step schedule: fractions of the run where the lr drops x0.1'},
  {'warmup', 0, 'linear warm-up epochs'},
  {'aug', 'mocov2', 'augmentation family', choices = {'mocov2', 'mocov1', 'simclr', 'supervised', 'none'}},
  {'crop_min', 0.2, 'RandomResizedCrop smallest area fraction'},
  {'crop_max', 1.0, 'RandomResizedCrop largest area fraction'},
  {'jitter', 0.5, 'colour-jitter strength s: brightness, contrast, saturation 0.8s, hue 0.2s'},
  {'jitter_p', 0.8, 'probability of colour jitter'},
  {'hue', -1.0, 'hue jitter (negative: 0.2 x jitter)'},
  {'grayscale', 0.2, 'probability of random grayscale'},
  {'blur', true, 'Gaussian blur (sigma 0.1-2, p 0.5)'},
  {'flip', 0.5, 'probability of a horizontal flip'},
  {'workers', 2, 'data-loader threads (0: in the main thread)'},
  {'threads', 0, 'compute threads (0: all cores)'},
  {'seed', 1, 'random seed (data order, augmentation, initialisation)'},
  {'knn_k', 200, 'kNN monitor: neighbours'},
  {'knn_t', 0.1, 'kNN monitor: temperature'},
  {'knn_every', 1, 'kNN monitor every n epochs (0: never)'},
  {'knn_train', 10000, 'kNN monitor: training samples used (0: all)'},
  {'knn_test', 2000, 'kNN monitor: test samples used (0: all)'},
  {'probe', 'fast', 'final linear probe', choices = {'fast', 'full', 'none'}},
  {'probe_epochs', 100, 'linear-probe epochs'},
  {'probe_lr', 0.0, 'linear-probe lr (0: 1e-3 Adam for fast, 30 SGD for full)'},
  {'baseline', true, 'also probe the randomly initialised encoder'},
  {'runs', 'runs', 'folder that holds the run folders'},
  {'resume', '', 'continue the run in this folder from its checkpoint'},
  {'stop_after', 0, 'stop after this epoch (0: run all epochs); --resume continues'},
  {'quiet', false, 'no progress bar'},
}

-- Per-dataset normalisation (mean, std) and native image side.
recipe.datasets = {
  fashion_mnist = {mean = {0.2860}, std = {0.3530}, side = 28},
  mnist = {mean = {0.1307}, std = {0.3081}, side = 28},
  cifar10 = {mean = {0.4914, 0.4822, 0.4465}, std = {0.2470, 0.2435, 0.2616}, side = 32},
  cifar100 = {mean = {0.5071, 0.4865, 0.4409}, std = {0.2673, 0.2564, 0.2762}, side = 32},
  synthetic = {mean = {0.5, 0.5, 0.5}, std = {0.25, 0.25, 0.25}, side = 32},
  stl10 = {mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225}, side = 96},
  image_folder = {mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225}, side = 224},
}

local function fashion_mnist_installed(root)
  local f = io.open((root ~= '' and root or sslab.data.FASHION_MNIST_ROOT) .. '/train-images-idx3-ubyte.gz', 'rb')
  if f then f:close() end
  return f ~= nil
end

--- The train and test datasets of cfg (and the dataset's name after 'auto').
function recipe.datasets_of(cfg)
  local name = cfg.dataset
  if name == 'auto' then name = fashion_mnist_installed(cfg.data_root) and 'fashion_mnist' or 'synthetic' end
  local root = cfg.data_root ~= '' and cfg.data_root or nil
  local train_ds, test_ds
  if name == 'synthetic' then
    train_ds = sslab.data.synthetic{n = cfg.synthetic_n, size = 32, seed = cfg.seed}
    test_ds = sslab.data.synthetic{n = math.max(1000, cfg.synthetic_n // 5), size = 32, seed = cfg.seed + 1000003}
  elseif name == 'image_folder' then
    if not root then error('--dataset image_folder needs --data_root (with train/ and val/ inside)', 0) end
    train_ds = sslab.data.image_folder{root = root .. '/train'}
    test_ds = sslab.data.image_folder{root = root .. '/val'}
  else
    train_ds = sslab.data[name]{root = root, split = 'train'}
    test_ds = sslab.data[name]{root = root, split = 'test'}
  end
  return train_ds, test_ds, name
end

--- The training augmentation of one view, from cfg.
function recipe.augmentation(cfg, stats, side)
  local aug = sslab.aug
  local ops = {}
  if cfg.aug ~= 'none' then
    ops[#ops + 1] = aug.random_resized_crop(side, {scale = {cfg.crop_min, cfg.crop_max}})
    if cfg.flip > 0 then ops[#ops + 1] = aug.hflip{p = cfg.flip} end
  elseif cfg.size ~= stats.side then
    ops[#ops + 1] = aug.resize({side, side})
  end
  if cfg.aug == 'mocov2' or cfg.aug == 'mocov1' or cfg.aug == 'simclr' then
    local s = cfg.jitter
    local hue = cfg.hue >= 0 and cfg.hue or math.min(0.5, 0.2 * s)
    if s > 0 and cfg.jitter_p > 0 then
      ops[#ops + 1] = aug.color_jitter{brightness = 0.8 * s, contrast = 0.8 * s, saturation = 0.8 * s, hue = hue,
                                       p = cfg.jitter_p}
    end
    if cfg.grayscale > 0 then ops[#ops + 1] = aug.grayscale{p = cfg.grayscale} end
    if cfg.blur then ops[#ops + 1] = aug.gaussian_blur{sigma = {0.1, 2.0}, p = 0.5} end
  end
  ops[#ops + 1] = aug.normalize{mean = stats.mean, std = stats.std}
  return aug.compose(ops)
end

--- The deterministic evaluation transform (resize if needed, normalise).
function recipe.eval_transform(cfg, stats, side)
  local aug = sslab.aug
  local ops = {}
  if side ~= stats.side then ops[#ops + 1] = aug.resize({side, side}) end
  ops[#ops + 1] = aug.normalize{mean = stats.mean, std = stats.std}
  return aug.compose(ops)
end

local function parse_fractions(text)
  local out = {}
  for v in tostring(text):gmatch('[^,%s]+') do
    local x = tonumber(v)
    if not x then error(string.format("--milestones: '%s' is not a number", v), 0) end
    out[#out + 1] = x
  end
  return out
end

--- The learning rate as a function of the step.
function recipe.lr_schedule(cfg, steps_per_epoch)
  local schedule = require 'sslab.schedule'
  local total = cfg.epochs * steps_per_epoch
  local warm = math.floor(cfg.warmup * steps_per_epoch)
  local inner
  if cfg.schedule == 'cosine' then
    inner = schedule.cosine(cfg.lr, math.max(1, total - warm))
  elseif cfg.schedule == 'step' then
    local ms = {}
    for i, f in ipairs(parse_fractions(cfg.milestones)) do
      ms[i] = f <= 1 and math.floor(f * total) - warm or math.floor(f * steps_per_epoch) - warm
    end
    inner = schedule.multistep(cfg.lr, ms, 0.1)
  else
    inner = schedule.constant(cfg.lr)
  end
  return warm > 0 and schedule.warmup(inner, warm) or inner
end

function recipe.optimizer(cfg, model)
  local optim = require 'sslab.optim'
  if cfg.optimizer == 'lars' then
    return optim.LARS(model, {lr = cfg.lr, momentum = cfg.momentum, weight_decay = cfg.wd})
  end
  return optim.SGD(model, {lr = cfg.lr, momentum = cfg.momentum, weight_decay = cfg.wd})
end

--- A new method of recipe def on a freshly initialised encoder (the same weights for
--- the same seed: the random-init baseline is built this way too).
function recipe.new_method(def, cfg, train_ds)
  local encoder = sslab.nn[cfg.arch]{stem = cfg.stem, width = cfg.width, in_channels = train_ds:get(1):size(1),
                                     bn_splits = cfg.bn_splits, rng = sslab.Generator(cfg.seed)}
  local mcfg = setmetatable({dataset_size = #train_ds, num_classes = #train_ds.classes}, {__index = cfg})
  return def.method.new(mcfg, encoder)
end

--- Build everything a run needs from the resolved settings.
function recipe.build(def, cfg)
  local train_ds, test_ds, dataset = recipe.datasets_of(cfg)
  local stats = recipe.datasets[dataset]
  local side = cfg.size > 0 and cfg.size or stats.side
  local method = recipe.new_method(def, cfg, train_ds)
  local view = recipe.augmentation(cfg, stats, side)
  local transform = method.views == 2 and sslab.aug.two_views(view) or view
  local loader = sslab.data.loader(train_ds, {batch = cfg.batch, shuffle = true, drop_last = true,
    transform = transform, workers = cfg.workers, seed = cfg.seed})
  return {train_ds = train_ds, test_ds = test_ds, dataset = dataset, stats = stats, side = side, method = method,
          loader = loader, eval_transform = recipe.eval_transform(cfg, stats, side),
          optimizer = recipe.optimizer(cfg, method.model)}
end

-- h, z and labels of method on the un-augmented train and test sets (the first ntrain / ntest
-- images; 0: all), in batches of the training size so the modules' buffers are reused.
local function features(method, parts, cfg, ntrain, ntest)
  local opts = {transform = parts.eval_transform, workers = cfg.workers, batch = cfg.batch}
  opts.limit = (ntrain or 0) > 0 and ntrain or nil
  local tr = eval.extract(method, parts.train_ds, opts)
  opts.limit = (ntest or 0) > 0 and ntest or nil
  return tr, eval.extract(method, parts.test_ds, opts)
end

-- kNN accuracy (%) of h and z on subsets of the train and test sets.
local function knn_eval(parts, cfg, ntrain, ntest)
  local tr, te = features(parts.method, parts, cfg, ntrain, ntest)
  local classes = #parts.train_ds.classes
  local kopts = {k = cfg.knn_k, T = cfg.knn_t, classes = classes}
  local h1 = eval.knn(tr.h, tr.labels, te.h, te.labels, kopts)
  local z1 = eval.knn(tr.z, tr.labels, te.z, te.labels, kopts)
  return 100 * h1, 100 * z1, tr, te
end

local function plot_run(run, records, steps_per_epoch)
  if not sslab.core.plot_render then return end
  local epochs, loss, knn_h, knn_z = {}, {}, {}, {}
  for i, r in ipairs(records) do
    epochs[i], loss[i] = r.epoch, r.loss
    knn_h[i], knn_z[i] = r.knn_h or 0 / 0, r.knn_z or 0 / 0
  end
  -- every step's loss (steps.tsv), on an axis of fractional epochs
  local sx, sy = {}, {}
  local f = io.open(run:path('steps.tsv'))
  if f then
    for line in f:lines() do
      local step, l = line:match('^(%d+)\t%d+\t(%S+)')
      if step then sx[#sx + 1], sy[#sy + 1] = tonumber(step) / steps_per_epoch, tonumber(l) end
    end
    f:close()
  end
  sslab.plot.save(run:path('curves.png'), {title = run.dir:match('[^/]+$'), width = 1000, height = 420, panels = {
    {title = 'training loss', xlabel = 'epoch', ylabel = 'loss', series = {{x = sx, y = sy, label = 'step', width = 1},
      {x = epochs, y = loss, label = 'epoch mean', style = 'both'}}},
    {title = 'kNN top-1 (%)', xlabel = 'epoch', ylabel = 'accuracy (%)',
     series = {{x = epochs, y = knn_h, label = 'h (encoder)', style = 'both'},
               {x = epochs, y = knn_z, label = 'z (head)', style = 'both'}}}}})
end

local function checkpoint(run, parts, epoch, step, cfg)
  local t = parts.method:state_dict()
  for k, v in pairs(parts.optimizer:state_dict()) do t['optim.' .. k] = v end
  t['rng.default'] = sslab.get_rng_state()
  run:save_checkpoint(t, {epoch = epoch, step = step, config = json.encode(cfg)})
end

local function restore(run, parts)
  local t, meta = run:load_checkpoint()
  if not t then error(string.format('resume: %s: no checkpoint to resume from (%s)', run.dir, meta), 0) end
  parts.method:load_state_dict(t)
  local o = {}
  for k, v in pairs(t) do if k:sub(1, 6) == 'optim.' then o[k:sub(7)] = v end end
  parts.optimizer:load_state_dict(o)
  sslab.set_rng_state(t['rng.default'])
  return tonumber(meta.epoch), tonumber(meta.step)
end

-- The report line of a recipe.linear_probe result.
local function probe_line(r)
  return string.format('  linear probe top-1 / top-5  h %6.2f%% / %6.2f%%%s', r.probe_h_top1, r.probe_h_top5,
    r.probe_z_top1 and string.format('   z %6.2f%% / %6.2f%%', r.probe_z_top1, r.probe_z_top5) or '')
end

local function probe_options(cfg, classes)
  local popts = {classes = classes, epochs = cfg.probe_epochs, seed = cfg.seed}
  if cfg.probe_lr > 0 then popts.lr = cfg.probe_lr end
  return popts
end

--- The linear probe cfg.probe asks for ('fast': logistic regression on the pre-extracted
--- features tr / te of h and z; 'full': augmented crops through the frozen encoder, SGD with
--- MoCo's lr 30 by default); returns {probe_h_top1, probe_h_top5[, probe_z_top1, probe_z_top5]} in %.
function recipe.linear_probe(parts, cfg, tr, te)
  local classes = #parts.train_ds.classes
  local out = {}
  if cfg.probe == 'fast' then
    local popts = probe_options(cfg, classes)
    local h1, h5 = eval.linear_probe(tr.h, tr.labels, te.h, te.labels, popts)
    local z1, z5 = eval.linear_probe(tr.z, tr.labels, te.z, te.labels, popts)
    out.probe_h_top1, out.probe_h_top5, out.probe_z_top1, out.probe_z_top5 = 100 * h1, 100 * h5, 100 * z1, 100 * z5
  elseif cfg.probe == 'full' then
    local h1, h5 = eval.linear_probe_full(parts.method, parts.train_ds, parts.test_ds, {classes = classes,
      epochs = cfg.probe_epochs, lr = cfg.probe_lr > 0 and cfg.probe_lr or 30, workers = cfg.workers,
      train_transform = recipe.augmentation(setmetatable({aug = 'supervised'}, {__index = cfg}), parts.stats, parts.side),
      test_transform = parts.eval_transform, seed = cfg.seed})
    out.probe_h_top1, out.probe_h_top5 = 100 * h1, 100 * h5
  end
  return out
end

--- Parse argv for recipe def; returns cfg.
function recipe.options(def, argv)
  local specs, index = {}, {}
  for _, s in ipairs(recipe.common_specs) do
    local copy = {s[1], s[2], s[3], choices = s.choices}
    specs[#specs + 1] = copy
    index[s[1]] = copy
  end
  for _, s in ipairs(def.specs or {}) do
    if index[s[1]] then index[s[1]][2], index[s[1]][3] = s[2], s[3] or index[s[1]][3]
    else specs[#specs + 1] = s end
  end
  for k, v in pairs(def.defaults or {}) do
    if not index[k] then error('recipe ' .. def.name .. ': default for unknown option ' .. k, 2) end
    index[k][2] = v
  end
  return options.parse(argv, specs, {name = def.name, usage = 'recipes/' .. def.name .. '.lua',
    description = def.description, presets = def.presets, default_preset = def.default_preset})
end

--- Run a recipe: parse, build, train, evaluate, report. Returns the summary table.
function recipe.main(def, argv)
  local cfg, explicit = recipe.options(def, argv)
  local run, start_epoch, step = nil, 1, 0
  if cfg.resume ~= '' then
    run = runs.open(cfg.resume)
    local saved = json.decode(run.config_text)
    for k, v in pairs(saved) do if not explicit[k] then cfg[k] = v end end -- the run's settings, but --epochs etc. may extend it
    if not explicit.stop_after then cfg.stop_after = 0 end
    cfg.resume = ''
  end
  if cfg.threads > 0 then sslab.set_num_threads(cfg.threads) end
  sslab.manual_seed(cfg.seed)
  local parts = recipe.build(def, cfg)
  local baseline_method = cfg.baseline and recipe.new_method(def, cfg, parts.train_ds) or nil
  if run then
    start_epoch, step = restore(run, parts)
    start_epoch = start_epoch + 1
    run:truncate_file('metrics.jsonl', function(line) return (json.decode(line).epoch or 0) < start_epoch end)
    print(string.format('resuming %s at epoch %d (step %d)', run.dir, start_epoch, step))
  else
    run = runs.create(def.name, cfg, cfg.runs)
  end
  print(string.format('%s: %s on %s (%d train / %d test images, %dx%d), %s %s width %d, head %s, %d epochs of %d steps',
    def.name, def.description or '', parts.dataset, #parts.train_ds, #parts.test_ds, parts.side, parts.side,
    cfg.arch, cfg.stem, cfg.width, cfg.head, cfg.epochs, parts.loader:batches_per_epoch()))
  print('settings:\n' .. options.format(cfg))
  print('run folder: ' .. run.dir)

  local records = {}
  if start_epoch > 1 then -- previous epochs, for the plot
    local f = io.open(run:path('metrics.jsonl'))
    if f then
      for line in f:lines() do
        local r = json.decode(line)
        if r.epoch and r.epoch < start_epoch then records[#records + 1] = r end
      end
      f:close()
    end
  end
  local lr_fn = recipe.lr_schedule(cfg, parts.loader:batches_per_epoch())
  -- Every step's loss, one per line (steps.tsv: step, epoch, loss with 9 digits): a resumed
  -- run must reproduce these exactly. Lines after the checkpoint's step are dropped first.
  run:truncate_file('steps.tsv', function(line) return (tonumber(line:match('^(%d+)')) or 0) <= step end)
  local steps_file = assert(io.open(run:path('steps.tsv'), 'a'))
  local t0 = sslab.clock()
  local last_epoch = cfg.stop_after > 0 and math.min(cfg.stop_after, cfg.epochs) or cfg.epochs
  train.fit{method = parts.method, loader = parts.loader, optimizer = parts.optimizer, schedule = lr_fn,
    epochs = cfg.epochs, last_epoch = last_epoch, start_epoch = start_epoch, step = step, quiet = cfg.quiet,
    on_step = function(at_step, loss, _, epoch)
      steps_file:write(string.format('%d\t%d\t%.9g\n', at_step, epoch, loss))
    end,
    on_epoch = function(epoch, record, at_step)
      steps_file:flush()
      local more = {}
      if cfg.knn_every > 0 and (epoch % cfg.knn_every == 0 or epoch == cfg.epochs) then
        more.knn_h, more.knn_z = knn_eval(parts, cfg, cfg.knn_train, cfg.knn_test)
        print(string.format('epoch %d/%d  loss %.4f  kNN top-1 %.2f%% (h)  %.2f%% (z)  %.0f img/s', epoch, cfg.epochs,
          record.loss, more.knn_h, more.knn_z, record.images_per_s))
      end
      for k, v in pairs(more) do record[k] = v end
      run:log(record)
      records[#records + 1] = record
      checkpoint(run, parts, epoch, at_step, cfg)
      plot_run(run, records, parts.loader:batches_per_epoch())
      return more
    end}
  local train_seconds = sslab.clock() - t0
  steps_file:close()
  if last_epoch < cfg.epochs then
    print(string.format('stopped after epoch %d of %d; continue with --resume %s', last_epoch, cfg.epochs, run.dir))
    return {recipe = def.name, run = run.dir, stopped_after = last_epoch}
  end

  -- Final evaluation: kNN on the full sets, linear probe on h and z, and the random-init baseline.
  local summary = {recipe = def.name, dataset = parts.dataset, epochs = cfg.epochs, train_seconds = train_seconds}
  print('evaluating ...')
  local knn_h, knn_z, tr, te = knn_eval(parts, cfg, 0, 0)
  summary.knn_h, summary.knn_z = knn_h, knn_z
  local classes = #parts.train_ds.classes
  local popts = probe_options(cfg, classes)
  local probe = recipe.linear_probe(parts, cfg, tr, te)
  for k, v in pairs(probe) do summary[k] = v end
  if baseline_method then
    local btr, bte = features(baseline_method, parts, cfg)
    baseline_method.model:clear_state() -- its buffers are not needed any more
    summary.random_knn_h = 100 * eval.knn(btr.h, btr.labels, bte.h, bte.labels, {k = cfg.knn_k, T = cfg.knn_t, classes = classes})
    if cfg.probe ~= 'none' then
      local b1, b5 = eval.linear_probe(btr.h, btr.labels, bte.h, bte.labels, popts)
      summary.random_probe_h_top1, summary.random_probe_h_top5 = 100 * b1, 100 * b5
    end
  end
  summary.run = run.dir
  local f = io.open(run:path('summary.json'), 'w')
  f:write(json.encode(summary), '\n')
  f:close()
  print(string.format('\n%s on %s after %d epochs (%.0f s of training):', def.name, parts.dataset, cfg.epochs, train_seconds))
  print(string.format('  kNN top-1 (k=%d)            h %6.2f%%   z %6.2f%%', cfg.knn_k, knn_h, knn_z))
  if summary.probe_h_top1 then
    print(probe_line(summary))
  end
  if summary.random_knn_h then
    print(string.format('  random-init encoder         kNN h %6.2f%%%s', summary.random_knn_h, summary.random_probe_h_top1 and
      string.format('   linear probe h %6.2f%% / %6.2f%%', summary.random_probe_h_top1, summary.random_probe_h_top5) or ''))
  end
  print('  run folder: ' .. run.dir .. ' (config.json, metrics.jsonl, checkpoint.safetensors, curves.png, summary.json)')
  return summary
end

-- {======================================================================
-- Evaluating a finished run: recipes/linear_probe.lua
-- =======================================================================

--- The method module of each bundled recipe (a run folder is named <recipe>-<date>-<time>).
recipe.methods = {mocov1 = 'sslab.methods.moco', mocov2 = 'sslab.methods.moco', simclr = 'sslab.methods.simclr',
                  instdisc = 'sslab.methods.instdisc', supervised = 'sslab.methods.supervised'}

local probe_specs = {
  {'run', '', 'run folder to evaluate (its config.json and checkpoint.safetensors)'},
  {'method', '', 'method of the run: moco, simclr, instdisc or supervised (empty: from the folder name)'},
  {'probe', 'fast', 'protocol: fast (features extracted once) or full (augmented crops, SGD)',
   choices = {'fast', 'full'}},
  {'probe_epochs', 100, 'linear-probe epochs'},
  {'probe_lr', 0.0, 'linear-probe lr (0: 1e-3 Adam for fast, 30 SGD for full)'},
  {'workers', 2, 'data-loader threads (0: in the main thread)'},
  {'threads', 0, 'compute threads (0: all cores)'},
  {'seed', 1, 'random seed of the probe'},
}

local probe_presets = {
  small = {probe = 'fast', probe_epochs = 100},
  imagenet = {probe = 'full', probe_epochs = 100, probe_lr = 30}, -- MoCo's protocol: lr 30, steps at 60% / 80%
}

local function method_module(opts, run)
  if opts.method ~= '' then return recipe.methods[opts.method] or ('sslab.methods.' .. opts.method) end
  local name = run.dir:match('([^/]+)$'):match('^(.-)%-%d+%-%d+$')
  local module = name and recipe.methods[name]
  if not module then
    error(string.format("linear_probe: cannot tell the method of '%s' from its name; pass --method", run.dir), 0)
  end
  return module
end

--- recipes/linear_probe.lua: the linear probe on the frozen encoder of a run folder's checkpoint,
--- with the run's own data and settings. Prints top-1 / top-5 and writes probe-<protocol>.json
--- into the folder; returns that table.
function recipe.probe_main(argv)
  local opts = options.parse(argv, probe_specs, {name = 'linear_probe', usage = 'recipes/linear_probe.lua',
    description = 'linear probe (fast or full protocol) on the frozen encoder of a finished run',
    presets = probe_presets, default_preset = 'small'})
  if opts.run == '' then error('linear_probe: --run <run folder> is required (see --help)', 0) end
  local run = runs.open(opts.run)
  local cfg = json.decode(run.config_text)
  for _, k in ipairs({'probe', 'probe_epochs', 'probe_lr', 'workers', 'threads', 'seed'}) do cfg[k] = opts[k] end
  local module = method_module(opts, run)
  if cfg.threads > 0 then sslab.set_num_threads(cfg.threads) end
  sslab.manual_seed(cfg.seed)
  local train_ds, test_ds, dataset = recipe.datasets_of(cfg)
  local stats = recipe.datasets[dataset]
  local side = cfg.size > 0 and cfg.size or stats.side
  local method = recipe.new_method({method = require(module)}, cfg, train_ds)
  local t, meta = run:load_checkpoint()
  if not t then error(string.format('linear_probe: %s: no checkpoint (%s)', run.dir, meta), 0) end
  method:load_state_dict(t)
  local parts = {train_ds = train_ds, test_ds = test_ds, stats = stats, side = side, method = method,
                 eval_transform = recipe.eval_transform(cfg, stats, side)}
  print(string.format('linear probe (%s, %d epochs) of %s: %s on %s, checkpoint of epoch %s', cfg.probe,
    cfg.probe_epochs, run.dir, module:match('[^.]+$'), dataset, tostring(meta.epoch)))
  local tr, te
  if cfg.probe == 'fast' then
    tr, te = features(method, parts, cfg)
  end
  local result = recipe.linear_probe(parts, cfg, tr, te)
  result.run, result.protocol, result.epochs, result.dataset = run.dir, cfg.probe, cfg.probe_epochs, dataset
  print(probe_line(result))
  local f = assert(io.open(run:path('probe-' .. cfg.probe .. '.json'), 'w'))
  f:write(json.encode(result), '\n')
  f:close()
  print('  written: ' .. run:path('probe-' .. cfg.probe .. '.json'))
  return result
end

-- }======================================================================

return recipe
