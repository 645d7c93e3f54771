-- sslab.schedule: learning-rate schedules. A schedule is a plain function of the step
-- number t = 0, 1, 2, ... (the number of updates already taken) returning the learning
-- rate; a recipe may pass any Lua function instead.
--
--   local lr = schedule.warmup(schedule.cosine(0.3, 9500), 500)   -- 500 warm-up steps, then cosine
--   opt:step(lr(step))
local schedule = {}

--- constant(lr): lr at every step.
function schedule.constant(lr)
    return function() return lr end
end

--- step(lr, step_size, gamma = 0.1): lr * gamma^floor(t / step_size) (StepLR).
function schedule.step(lr, step_size, gamma)
    assert(step_size and step_size > 0, 'schedule.step: step_size must be > 0')
    gamma = gamma or 0.1
    return function(t) return lr * gamma ^ (t // step_size) end
end

--- multistep(lr, milestones, gamma = 0.1): lr * gamma^(number of milestones <= t) (MultiStepLR).
function schedule.multistep(lr, milestones, gamma)
    gamma = gamma or 0.1
    local ms = {}
    for i, m in ipairs(milestones) do ms[i] = m end
    table.sort(ms)
    return function(t)
        local k = 0
        for _, m in ipairs(ms) do
            if t >= m then k = k + 1 else break end
        end
        return lr * gamma ^ k
    end
end

--- cosine(lr, total_steps, final_lr = 0): final + (lr - final) (1 + cos(pi t / total)) / 2,
--- held at final_lr after total_steps (CosineAnnealingLR without restarts).
function schedule.cosine(lr, total_steps, final_lr)
    assert(total_steps and total_steps > 0, 'schedule.cosine: total_steps must be > 0')
    final_lr = final_lr or 0
    return function(t)
        if t >= total_steps then return final_lr end
        return final_lr + (lr - final_lr) * (1 + math.cos(math.pi * t / total_steps)) / 2
    end
end

--- warmup(inner, warmup_steps, start_lr = 0): linear from start_lr at t = 0 towards inner(0) at
--- t = warmup_steps, then inner(t - warmup_steps). inner may be a schedule or a number.
--- (So cosine's total_steps should be the steps after the warm-up.)
function schedule.warmup(inner, warmup_steps, start_lr)
    if type(inner) == 'number' then inner = schedule.constant(inner) end
    start_lr = start_lr or 0
    assert(warmup_steps and warmup_steps >= 0, 'schedule.warmup: warmup_steps must be >= 0')
    return function(t)
        if t < warmup_steps then
            local target = inner(0)
            return start_lr + (target - start_lr) * t / warmup_steps
        end
        return inner(t - warmup_steps)
    end
end

return schedule
