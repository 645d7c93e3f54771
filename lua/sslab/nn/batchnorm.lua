-- sslab.nn.BatchNorm: BatchNorm2d / BatchNorm1d with PyTorch semantics and optional
-- per-group statistics (shuffle-BN emulation, MoCo's SplitBatchNorm).
--
--   local bn = nn.BatchNorm2d(64, {momentum = 0.1, eps = 1e-5, groups = 1})
--
-- Options: eps (1e-5), momentum (0.1), affine (true: weight (gamma) and bias (beta), kind 'bn'),
-- track_running_stats (true), groups (1: in training, statistics per group of N/groups samples),
-- interleaved (false: groups are contiguous blocks of the batch; true: sample n is in group n % groups),
-- relu (false: true applies ReLU to the output in the same pass, and masks the gradient with it:
-- BatchNorm + ReLU as one module, as the ResNets use it).
-- Buffers (state_dict): running_mean, running_var, num_batches_tracked (int64 scalar).
-- In evaluation the running statistics are used (groups do not matter).
local core = require 'sslab.core'
local Module = require 'sslab.nn.module'
local util = Module.util
local knn = core.nn

local BatchNorm = Module:extend('BatchNorm')

function BatchNorm.new(channels, opts, min_dim, max_dim, name)
    opts = opts or {}
    local self = Module.init(BatchNorm)
    assert(math.type(channels) == 'integer' and channels > 0, 'BatchNorm: channels must be a positive integer')
    self.channels = channels
    self.eps = opts.eps or 1e-5
    self.momentum = opts.momentum or 0.1
    self.groups = opts.groups or 1
    self.interleaved = opts.interleaved or false
    self.affine = opts.affine ~= false
    self.track_running_stats = opts.track_running_stats ~= false
    self.relu = opts.relu or false
    self.min_dim, self.max_dim, self.name = min_dim or 2, max_dim or 8, name or 'BatchNorm'
    if self.affine then
        self:register_parameter('weight', core.ones(channels), 'bn')
        self:register_parameter('bias', core.zeros(channels), 'bn')
    end
    if self.track_running_stats then
        self:register_buffer('running_mean', core.zeros(channels))
        self:register_buffer('running_var', core.ones(channels))
        self:register_buffer('num_batches_tracked', core.zeros({}, 'int64'))
    end
    return self
end

function BatchNorm:reset()
    if self.affine then
        self.weight:fill_(1)
        self.bias:zero_()
    end
    if self.track_running_stats then
        self.running_mean:zero_()
        self.running_var:fill_(1)
        self.num_batches_tracked:zero_()
    end
    return self
end

function BatchNorm:describe()
    local extra = ''
    if self.groups ~= 1 then extra = extra .. ', groups ' .. self.groups .. (self.interleaved and ' interleaved' or '') end
    if not self.affine then extra = extra .. ', affine=false' end
    if not self.track_running_stats then extra = extra .. ', track_running_stats=false' end
    return string.format('%s(%d, eps %g, momentum %g%s)%s', self.name, self.channels, self.eps, self.momentum, extra,
                         self.relu and ' + ReLU' or '')
end

function BatchNorm:forward(x)
    if x:dim() < self.min_dim or x:dim() > self.max_dim then
        error(string.format('%s: input must have %d to %d dims, got %s', self.name, self.min_dim, self.max_dim,
                            util.shape_str(x)), 2)
    end
    x = util.dense(self, '_tmp_x', x) -- channels first or last
    local batch_stats = self.training or not self.track_running_stats
    local groups = batch_stats and self.groups or 1
    self._tmp_mode = {batch_stats, groups}
    self.output = util.like(self.output, x)
    self._tmp_save_mean = util.sized(self._tmp_save_mean, nil, groups, self.channels)
    self._tmp_save_invstd = util.sized(self._tmp_save_invstd, nil, groups, self.channels)
    local update = self.training and self.track_running_stats
    knn.batchnorm_forward(x, self.output, self.weight, self.bias, self.running_mean, self.running_var,
                          self._tmp_save_mean, self._tmp_save_invstd, batch_stats, update and self.momentum or 0,
                          self.eps, groups, self.interleaved, self.relu)
    if update then self.num_batches_tracked:add_(1) end
    return self.output
end

function BatchNorm:backward(x, grad_out)
    x = util.in_format(x, util.format(self.output)) and x or self._tmp_x
    grad_out = util.as_format(self, '_tmp_gy', grad_out, util.format(x))
    self.grad_input = util.like(self.grad_input, x)
    local mode = self._tmp_mode
    knn.batchnorm_backward(x, grad_out, self.grad_input, self.weight, self.affine and self:grad_of('weight') or nil,
                           self.affine and self:grad_of('bias') or nil, self._tmp_save_mean, self._tmp_save_invstd, mode[1],
                           self.eps, mode[2], self.interleaved, self.relu and self.output or nil)
    return self.grad_input
end

local M = {BatchNorm = BatchNorm}
--- nn.BatchNorm2d(C, opts): input [N x C x H x W].
function M.BatchNorm2d(channels, opts) return BatchNorm.new(channels, opts, 4, 4, 'BatchNorm2d') end
--- nn.BatchNorm1d(C, opts): input [N x C] or [N x C x L].
function M.BatchNorm1d(channels, opts) return BatchNorm.new(channels, opts, 2, 3, 'BatchNorm1d') end
return M
