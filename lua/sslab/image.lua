-- sslab.image: PNG/JPEG files (load, save, encode, decode: runtime/bind/lua_image.c)
-- plus grid, which lays images out in one picture for previews.
--
--   local views = {}                                    -- e.g. augmented views, float [0, 1]
--   sslab.image.save('views.png', sslab.image.grid(views, {nrow = 8, pad = 2}))
local core = require 'sslab.core'

local image = core.image -- the C functions; grid is added to the same table

local function check_opts(opts)
  opts = opts or {}
  local allowed = {nrow = true, pad = true, value = true, mean = true, std = true, scale = true}
  for k in pairs(opts) do
    if not allowed[k] then error("image.grid: unknown option '" .. tostring(k) .. "' (nrow, pad, value, mean, std, scale)", 3) end
  end
  return opts
end

--- image.grid(images, {nrow = 8, pad = 2, value = 0, mean = nil, std = nil, scale = false}) -> [3 x H x W]
-- images: a list of [C x H x W] / [H x W] tensors (uint8 or float in [0, 1]; C = 1, 3 or 4,
-- alpha dropped, grey promoted to RGB) or one [N x C x H x W] tensor. nrow images per row,
-- pad pixels between and around them, filled with value (in [0, 1]). Cells are as large as
-- the largest image (smaller ones sit top-left). The result is uint8 if every input is
-- uint8, else float. mean/std undo a normalisation (x * std + mean) of float inputs;
-- scale = true stretches each float image to [0, 1] (min-max) instead.
function image.grid(images, opts)
  opts = check_opts(opts)
  local list = images
  if core.is_tensor(images) then
    if images:dim() ~= 4 then error('image.grid: a tensor argument must be [N x C x H x W]', 2) end
    list = {}
    for i = 1, images:size(1) do list[i] = images[i] end
  end
  if type(list) ~= 'table' or #list == 0 then error('image.grid: expects a non-empty list of images', 2) end
  local nrow, pad, value = opts.nrow or 8, opts.pad or 2, opts.value or 0
  if nrow < 1 or pad < 0 then error('image.grid: nrow must be >= 1 and pad >= 0', 2) end
  local all_u8, ch, cw = true, 0, 0
  for i, img in ipairs(list) do
    if not core.is_tensor(img) or (img:dim() ~= 2 and img:dim() ~= 3) or img:dtype() == 'int64' then
      error(string.format('image.grid: image %d must be a uint8 or float [C x H x W] or [H x W] tensor', i), 2)
    end
    if img:dim() == 3 and img:size(1) ~= 1 and img:size(1) ~= 3 and img:size(1) ~= 4 then
      error(string.format('image.grid: image %d has %d channels (1, 3 or 4)', i, img:size(1)), 2)
    end
    all_u8 = all_u8 and img:dtype() == 'uint8'
    ch = math.max(ch, img:size(img:dim() - 1))
    cw = math.max(cw, img:size(img:dim()))
  end
  local n = #list
  local cols = math.min(nrow, n)
  local rows = (n + cols - 1) // cols
  local H, W = rows * (ch + pad) + pad, cols * (cw + pad) + pad
  local out = core.full({3, H, W}, all_u8 and math.floor(value * 255 + 0.5) or value, all_u8 and 'uint8' or 'float32')
  for i, img in ipairs(list) do
    local x = img
    if x:dim() == 2 then x = x:view(1, x:size(1), x:size(2)) end
    if x:size(1) == 4 then x = x:narrow(1, 1, 3) end
    if not all_u8 then
      if x:dtype() == 'uint8' then
        x = x:float() / 255
      elseif opts.mean or opts.std then
        local c = x:size(1)
        local mean = core.tensor(opts.mean or {0, 0, 0}):narrow(1, 1, c):view(c, 1, 1)
        local std = core.tensor(opts.std or {1, 1, 1}):narrow(1, 1, c):view(c, 1, 1)
        x = x * std + mean
      elseif opts.scale then
        local lo, hi = x:min(), x:max()
        x = (x - lo) / math.max(hi - lo, 1e-12)
      end
    end
    local h, w = x:size(2), x:size(3)
    if x:size(1) == 1 then x = x:expand(3, h, w) end
    local r, c = (i - 1) // cols, (i - 1) % cols
    out:narrow(2, pad + r * (ch + pad) + 1, h):narrow(3, pad + c * (cw + pad) + 1, w):copy_(x)
  end
  return out
end

return image
