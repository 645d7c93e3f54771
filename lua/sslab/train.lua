-- sslab.train: the training loop every recipe shares.
--
--   train.fit{
--     method = m,               -- train_step / after_step / set_training (lua/sslab/methods)
--     loader = loader,          -- sslab.data.loader with method.views views
--     optimizer = opt,          -- sslab.optim over m.model
--     schedule = lr_fn,         -- learning rate as a function of the step (0-based)
--     epochs = 20,                          -- the length of the run (labels "epoch e/20")
--     last_epoch = 20,                      -- stop after this epoch (default: epochs)
--     start_epoch = 1, step = 0,            -- where a resumed run continues
--     on_step = function(step, loss, metrics) end,          -- optional
--     on_epoch = function(epoch, record) return more end,   -- optional: evaluation, checkpoint
--     quiet = false,
--   }
--
-- Each step: zero the gradients, method:train_step(batch) (forward and
-- backward), a non-finite loss stops the run with an error naming the epoch
-- and step, optimizer:step(lr), method:after_step(). A progress bar shows the
-- loss and images/s (plain lines when output is not a terminal).
local sslab = require 'sslab'
local progress = require 'sslab.progress'

local train = {}

local function finite(x) return x == x and x ~= math.huge and x ~= -math.huge end

--- Runs the epochs; returns the list of epoch records.
function train.fit(t)
  local method, loader, opt = t.method, t.loader, t.optimizer
  local schedule = t.schedule or function() return opt.lr end
  local step = t.step or 0
  local records = {}
  local per_epoch = loader:batches_per_epoch()
  for epoch = t.start_epoch or 1, t.last_epoch or t.epochs do
    method:set_training(true)
    local bar = not t.quiet and progress.new{total = per_epoch, label = string.format('epoch %d/%d', epoch, t.epochs)}
    local loss_sum, acc_sum, n, images = 0, 0, 0, 0
    local t0 = sslab.clock()
    local lr
    for batch in loader:epoch(epoch) do
      lr = schedule(step)
      method.model:zero_grad()
      local loss, metrics = method:train_step(batch)
      if not finite(loss) then
        error(string.format('training diverged: the loss is %s at epoch %d, step %d (try a lower --lr)',
          tostring(loss), epoch, step + 1), 0)
      end
      opt:step(lr)
      method:after_step()
      step = step + 1
      n = n + 1
      loss_sum = loss_sum + loss
      acc_sum = acc_sum + (metrics and metrics.acc or 0)
      images = images + batch.views[1]:size(1)
      if t.on_step then t.on_step(step, loss, metrics, epoch) end
      if bar then
        local elapsed = sslab.clock() - t0
        bar:update(n, {loss = loss, ['img/s'] = elapsed > 0 and images / elapsed or 0})
      end
    end
    local elapsed = sslab.clock() - t0
    local record = {epoch = epoch, step = step, loss = loss_sum / math.max(n, 1), pretext_acc = acc_sum / math.max(n, 1),
                    lr = lr, seconds = elapsed, images_per_s = images / math.max(elapsed, 1e-9)}
    if bar then
      bar:finish({loss = record.loss, ['img/s'] = record.images_per_s})
    end
    if t.on_epoch then
      local more = t.on_epoch(epoch, record, step)
      for k, v in pairs(more or {}) do record[k] = v end
    end
    records[#records + 1] = record
  end
  return records, step
end

return train
