-- sslab.eval: turning a representation into a number.
--
--   local feats = eval.extract(method, ds, {transform = t, batch = 512})  -- {h = [N x C], z = [N x D], labels}
--   local acc = eval.knn(train, test, {k = 200, T = 0.1, classes = 10})     -- top-1 in [0, 1]
--   local top1, top5 = eval.linear_probe(train.h, train.labels, test.h, test.labels, {classes = 10})
--
-- kNN: cosine similarity, the k nearest training features vote with weight
-- exp(sim / T) (InstDisc, MoCo's CIFAR demo; k = 200, T = 0.1 by default).
-- Linear probe, fast protocol: logistic regression on pre-extracted,
-- standardised features (no augmentation), trained to convergence with Adam
-- and a decaying step. The full protocol (augmented crops through the frozen
-- encoder, SGD with MoCo's lr 30 and steps at 60% / 80%) is linear_probe_full.
local sslab = require 'sslab'
local nn = require 'sslab.nn'
local optim = require 'sslab.optim'

local eval = {}

--- Features of every sample of ds (no augmentation beyond `transform`, which
--- should be deterministic: to-float, resize, normalise). Returns {h=, z=, labels=}.
--- opts: transform, batch (256), limit (first n samples), workers.
function eval.extract(method, ds, opts)
  opts = opts or {}
  local n = math.min(#ds, opts.limit or #ds)
  local subset = n < #ds and ds:subset(sslab.arange(1, n + 1)) or ds
  local loader = sslab.data.loader(subset, {batch = opts.batch or 256, shuffle = false, drop_last = false,
    transform = opts.transform, workers = opts.workers, seed = 0})
  local hs, zs, labels = nil, nil, sslab.zeros({n}, 'int64')
  local at = 0
  for batch in loader:epoch(1) do
    local h, z = method:embed(batch.views[1])
    local b = h:size(1)
    if not hs then
      hs = sslab.empty(n, h:size(2))
      zs = sslab.empty(n, z:size(2))
    end
    hs:narrow(1, at + 1, b):copy_(h)
    zs:narrow(1, at + 1, b):copy_(z)
    labels:narrow(1, at + 1, b):copy_(batch.labels)
    at = at + b
  end
  return {h = hs, z = zs, labels = labels}
end

--- Weighted kNN top-1 (and top-5) accuracy of test features against train features.
--- opts: k (200), T (0.1), classes (from the labels).
function eval.knn(train_feats, train_labels, test_feats, test_labels, opts)
  opts = opts or {}
  local classes = opts.classes or math.max(train_labels:max(), test_labels:max())
  local scores = sslab.core.eval.knn_scores(train_feats:contiguous(), train_labels:contiguous(),
                                            test_feats:contiguous(), classes, opts.k or 200, opts.T or 0.1)
  return eval.topk_accuracy(scores, test_labels, 1), eval.topk_accuracy(scores, test_labels, math.min(5, classes))
end

--- Fraction of rows of scores [N x C] whose true label (1-based) is among the k best.
function eval.topk_accuracy(scores, labels, k)
  local _, idx = scores:topk(k, 2)
  local hit = idx:eq(labels:view(-1, 1):expand(labels:size(1), k)):sum(2):gt(0)
  return hit:float():mean()
end

-- Standardise train and test features with the train mean and std (per dim).
local function standardise(train, test)
  local mean = train:mean(1, true)
  local std = (train:var(1, true, true) + 1e-6):sqrt()
  return (train - mean) / std, (test - mean) / std
end

--- Fast linear probe: multinomial logistic regression on frozen features.
--- opts: classes, epochs (100), batch (256), lr (1e-3, Adam), weight_decay (0), seed.
--- Returns top-1, top-5 test accuracy.
function eval.linear_probe(train_x, train_y, test_x, test_y, opts)
  opts = opts or {}
  local classes = opts.classes or math.max(train_y:max(), test_y:max())
  local gen = sslab.Generator(opts.seed or 0)
  train_x, test_x = standardise(train_x, test_x)
  local n, d = train_x:size(1), train_x:size(2)
  local fc = nn.Linear(d, classes, {rng = gen})
  local loss_fn = nn.CrossEntropy()
  local epochs, batch = opts.epochs or 100, math.min(opts.batch or 256, n)
  local steps_per_epoch = math.max(1, n // batch)
  local opt = optim.Adam(fc, {lr = opts.lr or 1e-3, weight_decay = opts.weight_decay or 0})
  local lr = require('sslab.schedule').cosine(opts.lr or 1e-3, epochs * steps_per_epoch)
  local step = 0
  for _ = 1, epochs do
    local perm = sslab.randperm(n, gen)
    for b = 0, steps_per_epoch - 1 do
      local idx = perm:narrow(1, b * batch + 1, batch)
      local x, y = train_x:index_select(1, idx), train_y:index_select(1, idx)
      fc:zero_grad()
      local logits = fc:forward(x)
      loss_fn:forward(logits, y)
      fc:backward(x, loss_fn:backward(logits, y))
      opt:step(lr(step))
      step = step + 1
    end
  end
  fc:evaluate()
  local scores = fc:forward(test_x)
  return eval.topk_accuracy(scores, test_y, 1), eval.topk_accuracy(scores, test_y, math.min(5, classes))
end

--- Full linear-evaluation protocol (MoCo main_lincls.py): a linear classifier on the
--- frozen encoder's h, trained on augmented crops with SGD (lr 30, momentum 0.9, wd 0,
--- steps at 60% and 80% of the epochs), evaluated on deterministic views.
--- opts: classes, epochs (100), batch (256), lr (30), train_transform, test_transform, workers, seed.
function eval.linear_probe_full(method, train_ds, test_ds, opts)
  opts = opts or {}
  local gen = sslab.Generator(opts.seed or 0)
  local classes = opts.classes or #train_ds.classes
  local epochs = opts.epochs or 100
  local loader = sslab.data.loader(train_ds, {batch = opts.batch or 256, shuffle = true, drop_last = true,
    transform = opts.train_transform, workers = opts.workers, seed = opts.seed or 0})
  local fc
  local loss_fn = nn.CrossEntropy()
  local opt, lr
  local step = 0
  for epoch = 1, epochs do
    for batch in loader:epoch(epoch) do
      local h = method:embed(batch.views[1])
      if not fc then
        fc = nn.Linear(h:size(2), classes, {rng = gen})
        fc.weight:normal_(0, 0.01, gen)
        fc.bias:zero_()
        opt = optim.SGD(fc, {lr = opts.lr or 30, momentum = 0.9, weight_decay = 0})
        local per_epoch = loader:batches_per_epoch()
        lr = require('sslab.schedule').multistep(opts.lr or 30,
          {math.floor(0.6 * epochs) * per_epoch, math.floor(0.8 * epochs) * per_epoch})
      end
      fc:zero_grad()
      local logits = fc:forward(h)
      loss_fn:forward(logits, batch.labels)
      fc:backward(h, loss_fn:backward(logits, batch.labels))
      opt:step(lr(step))
      step = step + 1
    end
  end
  local test = eval.extract(method, test_ds, {transform = opts.test_transform, workers = opts.workers})
  local scores = fc:forward(test.h)
  return eval.topk_accuracy(scores, test.labels, 1), eval.topk_accuracy(scores, test.labels, math.min(5, classes))
end

return eval
