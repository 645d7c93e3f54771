-- data_testutil.lua - helpers for the data/aug/loader suites: temp dirs and small
-- dataset files (IDX raw and gzip, CIFAR-10/100, STL-10, image folders).
local sslab = require 'sslab'

local M = {}

--- A fresh temporary directory (from os.tmpname) and a function that removes it.
function M.tmpdir()
  local path = os.tmpname()
  os.remove(path)
  assert(sslab.mkdir(path))
  local function rm(p)
    local names, kinds = sslab._data.listdir(p)
    if names then
      for i, n in ipairs(names) do
        if kinds[i] == 'directory' then rm(p .. '/' .. n) else os.remove(p .. '/' .. n) end
      end
    end
    os.remove(p)
  end
  return path, function() rm(path) end
end

function M.write(path, s)
  local f = assert(io.open(path, 'wb'))
  f:write(s)
  f:close()
end

function M.read(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('a')
  f:close()
  return s
end

-- CRC-32 (IEEE) of a string
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = crc_table[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

--- A gzip stream of s with stored (uncompressed) deflate blocks.
function M.gzip(s)
  local parts = {'\31\139\8\0\0\0\0\0\0\255'}
  local pos = 1
  repeat
    local chunk = s:sub(pos, pos + 65534)
    pos = pos + #chunk
    local final = pos > #s and 1 or 0
    parts[#parts + 1] = string.pack('<I1I2I2', final, #chunk, (~#chunk) & 0xFFFF) .. chunk
  until pos > #s
  parts[#parts + 1] = string.pack('<I4I4', crc32(s), #s & 0xFFFFFFFF)
  return table.concat(parts)
end

--- IDX bytes: unsigned-byte data with the given dims; values from f(i) (0-based flat index).
function M.idx_bytes(dims, f)
  local parts = {string.pack('>I1I1I1I1', 0, 0, 8, #dims)}
  local n = 1
  for _, d in ipairs(dims) do
    parts[#parts + 1] = string.pack('>I4', d)
    n = n * d
  end
  local bytes = {}
  for i = 0, n - 1 do bytes[#bytes + 1] = string.char(f(i) % 256) end
  return table.concat(parts) .. table.concat(bytes)
end

--- n 28x28 images (pixel = (image * 7 + pixel) % 256) and labels image % 10.
function M.write_idx_pair(dir, prefix, n, gz)
  local img = M.idx_bytes({n, 28, 28}, function(i) return (i // 784) * 7 + i % 784 end)
  local lab = M.idx_bytes({n}, function(i) return i % 10 end)
  local ext = gz and '.gz' or ''
  M.write(dir .. '/' .. prefix .. '-images-idx3-ubyte' .. ext, gz and M.gzip(img) or img)
  M.write(dir .. '/' .. prefix .. '-labels-idx1-ubyte' .. ext, gz and M.gzip(lab) or lab)
  return img, lab
end

--- CIFAR records: label bytes (1 for CIFAR-10, coarse+fine for 100) + 3072 pixels = (r * 3 + pixel) % 256.
function M.cifar_bytes(n, kind, first)
  local parts = {}
  for r = 0, n - 1 do
    local g = (first or 0) + r
    local px = {}
    for i = 0, 3071 do px[#px + 1] = string.char((g * 3 + i) % 256) end
    local head = kind == 100 and string.char(g % 20, g % 100) or string.char(g % 10)
    parts[#parts + 1] = head .. table.concat(px)
  end
  return table.concat(parts)
end

--- STL-10 images: n images, pixel (c, y, x) of image k = (k + c * 50 + y + 2 * x) % 256, stored column-major.
function M.stl10_images(n)
  local parts = {}
  for k = 0, n - 1 do
    local px = {}
    for c = 0, 2 do
      for x = 0, 95 do
        for y = 0, 95 do px[#px + 1] = string.char((k + c * 50 + y + 2 * x) % 256) end
      end
    end
    parts[#parts + 1] = table.concat(px)
  end
  return table.concat(parts)
end

--- An image folder: root/<class>/img<k>.<ext> with extensions cycling through exts.
-- Returns the number of files.
function M.image_folder(root, classes, per_class, exts)
  exts = exts or {'jpg', 'PNG', 'jpeg', 'png'}
  local count = 0
  for ci, cname in ipairs(classes) do
    local d = root .. '/' .. cname
    assert(sslab.mkdir(d))
    for k = 1, per_class do
      local img = sslab.zeros(3, 20 + k, 24):byte()
      img:fill_((ci * 40 + k * 10) % 256)
      local ext = exts[(count % #exts) + 1]
      sslab.image.save(string.format('%s/img%02d.%s', d, k, ext), img)
      count = count + 1
    end
  end
  return count
end

return M
