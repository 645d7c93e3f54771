-- test_data.lua - sslab.data datasets: IDX (raw, gzip), Fashion-MNIST, CIFAR-10/100,
-- STL-10, image folders, synthetic, subsets, tensors; one test per failure kind.
local here = (arg and arg[0] or ''):match('^(.*)/[^/]*$') or '.'
package.path = here .. '/?.lua;' .. package.path
local lu = require 'luaunit'
local sslab = require 'sslab'
local U = require 'data_testutil'
local data = sslab.data

-- error message of f(...) (fails if f does not raise)
local function err_of(f, ...)
  local ok, e = pcall(f, ...)
  lu.assertFalse(ok, 'expected an error')
  return tostring(e)
end

TestData = {}

function TestData:setUp() self.dir, self.cleanup = U.tmpdir() end
function TestData:tearDown() self.cleanup() end

-- {===== IDX =====

function TestData:test_idx_raw_and_gzip_read_the_same()
  local raw, gz = self.dir .. '/raw', self.dir .. '/gz'
  sslab.mkdir(raw); sslab.mkdir(gz)
  U.write_idx_pair(raw, 'train', 5, false)
  U.write_idx_pair(gz, 'train', 5, true)
  U.write_idx_pair(gz, 't10k', 3, true)
  local a = assert(data.mnist{root = raw})
  local b = assert(data.mnist{root = gz})
  local t = assert(data.mnist{root = gz, split = 'test'})
  lu.assertEquals(#a, 5)
  lu.assertEquals(#b, 5)
  lu.assertEquals(#t, 3)
  lu.assertEquals(#a.classes, 10)
  for i = 1, 5 do
    local ia, la = a:get(i)
    local ib, lb = b:get(i)
    lu.assertEquals(ia:shape(), {1, 28, 28})
    lu.assertEquals(ia:dtype(), 'uint8')
    lu.assertEquals(ia:to_string(), ib:to_string())
    lu.assertEquals(la, (i - 1) % 10 + 1) -- 1-based
    lu.assertEquals(lb, la)
    lu.assertEquals(ia[1][1][1], ((i - 1) * 7) % 256)
  end
end

function TestData:test_idx_missing_gives_nil_and_message()
  local ds, msg = data.mnist{root = self.dir}
  lu.assertNil(ds)
  lu.assertStrContains(msg, self.dir .. '/train-images-idx3-ubyte')
end

function TestData:test_idx_truncated_raises_naming_file()
  local img = U.idx_bytes({4, 28, 28}, function(i) return i end)
  U.write(self.dir .. '/train-images-idx3-ubyte', img:sub(1, #img - 100))
  U.write(self.dir .. '/train-labels-idx1-ubyte', U.idx_bytes({4}, function(i) return i end))
  local e = err_of(data.mnist, {root = self.dir})
  lu.assertStrContains(e, 'train-images-idx3-ubyte')
  lu.assertStrContains(e, 'truncated')
end

function TestData:test_idx_corrupt_gzip_raises_naming_file()
  U.write_idx_pair(self.dir, 'train', 3, true)
  local p = self.dir .. '/train-labels-idx1-ubyte.gz'
  local s = U.read(p)
  U.write(p, s:sub(1, #s - 8) .. string.char((s:byte(#s - 7) + 1) % 256) .. s:sub(#s - 6)) -- bad CRC
  local e = err_of(data.mnist, {root = self.dir})
  lu.assertStrContains(e, 'train-labels-idx1-ubyte.gz')
end

function TestData:test_idx_bad_magic_raises_naming_file()
  U.write_idx_pair(self.dir, 'train', 3, false)
  local p = self.dir .. '/train-images-idx3-ubyte'
  local s = U.read(p)
  U.write(p, '\1\2' .. s:sub(3))
  lu.assertStrContains(err_of(data.mnist, {root = self.dir}), p)
end

function TestData:test_idx_label_out_of_range_and_count_mismatch()
  U.write_idx_pair(self.dir, 'train', 3, false)
  local lp = self.dir .. '/train-labels-idx1-ubyte'
  U.write(lp, U.idx_bytes({3}, function(i) return 10 + i end))
  lu.assertStrContains(err_of(data.mnist, {root = self.dir}), lp)
  U.write(lp, U.idx_bytes({2}, function(i) return i end))
  local e = err_of(data.mnist, {root = self.dir})
  lu.assertStrContains(e, 'train-')
end

function TestData:test_fashion_mnist_missing_root_names_the_package()
  local ds, msg = data.fashion_mnist{root = self.dir}
  lu.assertNil(ds)
  lu.assertStrContains(msg, self.dir)
  -- the default root's message tells which Debian package to install
  local saved = data.FASHION_MNIST_ROOT
  data.FASHION_MNIST_ROOT = self.dir .. '/nowhere'
  ds, msg = data.fashion_mnist{}
  data.FASHION_MNIST_ROOT = saved
  lu.assertNil(ds)
  lu.assertStrContains(msg, 'apt-get install dataset-fashion-mnist')
end

function TestData:test_fashion_mnist_debian_package()
  local ds, msg = data.fashion_mnist{split = 'test'}
  if not ds then
    print('skipped: ' .. msg)
    return
  end
  lu.assertEquals(#ds, 10000)
  lu.assertEquals(ds.classes[10], 'Ankle boot')
  local img, label = ds:get(1)
  lu.assertEquals(img:shape(), {1, 28, 28})
  lu.assertEquals(label, 10) -- the first test image is an ankle boot (class 9, 0-based)
end

-- }=====

-- {===== CIFAR =====

function TestData:test_cifar10_batches()
  U.write(self.dir .. '/data_batch_1.bin', U.cifar_bytes(3, 10, 0))
  U.write(self.dir .. '/data_batch_2.bin', U.cifar_bytes(2, 10, 3))
  U.write(self.dir .. '/test_batch.bin', U.cifar_bytes(4, 10, 100))
  local tr = assert(data.cifar10{root = self.dir})
  local te = assert(data.cifar10{root = self.dir, split = 'test'})
  lu.assertEquals(#tr, 5)
  lu.assertEquals(#te, 4)
  lu.assertEquals(tr.classes[1], 'airplane')
  for i = 1, 5 do
    local img, label = tr:get(i)
    lu.assertEquals(img:shape(), {3, 32, 32})
    lu.assertEquals(label, (i - 1) % 10 + 1)
    lu.assertEquals(img[1][1][1], ((i - 1) * 3) % 256)
    lu.assertEquals(img[2][1][1], ((i - 1) * 3 + 1024) % 256)
  end
end

function TestData:test_cifar10_missing_and_wrong_length()
  local ds, msg = data.cifar10{root = self.dir}
  lu.assertNil(ds)
  lu.assertStrContains(msg, 'data_batch_1.bin')
  ds, msg = data.cifar10{root = self.dir, split = 'test'}
  lu.assertNil(ds)
  lu.assertStrContains(msg, 'test_batch.bin')
  local p = self.dir .. '/data_batch_1.bin'
  U.write(p, U.cifar_bytes(2, 10):sub(1, 3073 + 100))
  lu.assertStrContains(err_of(data.cifar10, {root = self.dir}), p)
end

function TestData:test_cifar10_bad_label_raises_naming_file()
  local p = self.dir .. '/test_batch.bin'
  local s = U.cifar_bytes(2, 10)
  U.write(p, s:sub(1, 3073) .. '\12' .. s:sub(3075))
  lu.assertStrContains(err_of(data.cifar10, {root = self.dir, split = 'test'}), p)
end

function TestData:test_cifar100_fine_and_coarse()
  U.write(self.dir .. '/train.bin', U.cifar_bytes(4, 100, 17))
  local fine = assert(data.cifar100{root = self.dir})
  local coarse = assert(data.cifar100{root = self.dir, labels = 'coarse'})
  lu.assertEquals(#fine.classes, 100)
  lu.assertEquals(#coarse.classes, 20)
  for i = 1, 4 do
    local g = 17 + i - 1
    lu.assertEquals(select(2, fine:get(i)), g % 100 + 1)
    lu.assertEquals(select(2, coarse:get(i)), g % 20 + 1)
  end
  local p = self.dir .. '/test.bin'
  U.write(p, U.cifar_bytes(1, 100):sub(1, 3000))
  lu.assertStrContains(err_of(data.cifar100, {root = self.dir, split = 'test'}), p)
end

-- }=====

-- {===== STL-10 =====

function TestData:test_stl10_splits_and_layout()
  U.write(self.dir .. '/train_X.bin', U.stl10_images(3))
  U.write(self.dir .. '/train_y.bin', '\1\10\5')
  U.write(self.dir .. '/unlabeled_X.bin', U.stl10_images(2))
  local tr = assert(data.stl10{root = self.dir})
  lu.assertEquals(#tr, 3)
  lu.assertEquals(tr.classes[2], 'bird')
  local img, label = tr:get(2)
  lu.assertEquals(img:shape(), {3, 96, 96})
  lu.assertEquals(label, 10)
  -- row-major: pixel (c, y, x) = (k + 50c + y + 2x) % 256
  lu.assertEquals(img[1][4][1], 1 + 3)
  lu.assertEquals(img[1][1][4], 1 + 6)
  lu.assertEquals(img[3][2][3], (1 + 100 + 1 + 4) % 256)
  local un = assert(data.stl10{root = self.dir, split = 'unlabeled'})
  lu.assertEquals(#un, 2)
  lu.assertNil(select(2, un:get(1)))
  local slice = assert(data.stl10{root = self.dir, first = 2, count = 2})
  lu.assertEquals(#slice, 2)
  lu.assertEquals(select(2, slice:get(1)), 10)
end

function TestData:test_stl10_failures()
  local ds, msg = data.stl10{root = self.dir, split = 'test'}
  lu.assertNil(ds)
  lu.assertStrContains(msg, 'test_X.bin')
  U.write(self.dir .. '/test_X.bin', U.stl10_images(1):sub(1, 1000))
  U.write(self.dir .. '/test_y.bin', '\1')
  lu.assertStrContains(err_of(data.stl10, {root = self.dir, split = 'test'}), 'test_X.bin')
  U.write(self.dir .. '/test_X.bin', U.stl10_images(1))
  U.write(self.dir .. '/test_y.bin', '\11')
  lu.assertStrContains(err_of(data.stl10, {root = self.dir, split = 'test'}), 'test_y.bin')
end

-- }=====

-- {===== image folders =====

function TestData:test_image_folder()
  local n = U.image_folder(self.dir, {'dog', 'cat'}, 3)
  sslab.mkdir(self.dir .. '/cat/nested')
  sslab.image.save(self.dir .. '/cat/nested/x.JPG', sslab.zeros(3, 8, 8):byte())
  U.write(self.dir .. '/cat/notes.txt', 'not an image')
  U.write(self.dir .. '/stray.png', 'a file at the top is not a class')
  local ds = assert(data.image_folder{root = self.dir})
  lu.assertEquals(ds.classes, {'cat', 'dog'}) -- sorted
  lu.assertEquals(#ds, n + 1)
  local labels = {}
  for i = 1, #ds do
    local img, label = ds:get(i)
    lu.assertEquals(img:size(1), 3)
    labels[i] = label
  end
  lu.assertEquals(labels, {1, 1, 1, 1, 2, 2, 2})
  lu.assertStrContains(ds.paths[4], 'nested/x.JPG')
  local img = ds:get(5) -- dog/img01.jpg: 21 x 24, value 40 + 10 (JPEG: approximately)
  lu.assertEquals(img:shape(), {3, 21, 24})
  lu.assertTrue(math.abs(img[1][5][5] - 50) <= 3)
end

function TestData:test_image_folder_failures()
  local ds, msg = data.image_folder{root = self.dir .. '/none'}
  lu.assertNil(ds)
  lu.assertStrContains(msg, self.dir .. '/none')
  lu.assertStrContains(err_of(data.image_folder, {root = self.dir}), 'no class folders')
  sslab.mkdir(self.dir .. '/a')
  lu.assertStrContains(err_of(data.image_folder, {root = self.dir}), 'no .jpg')
  -- a corrupt file is found when it is read, and the error names it
  U.write(self.dir .. '/a/bad.jpg', '\255\216\255\224 truncated')
  ds = assert(data.image_folder(self.dir))
  lu.assertStrContains(err_of(ds.get, ds, 1), self.dir .. '/a/bad.jpg')
end

-- }=====

function TestData:test_synthetic_and_subset()
  local ds = data.synthetic{n = 20, size = 16, seed = 3}
  lu.assertEquals(#ds, 20)
  lu.assertEquals(ds.classes[1], 'circle')
  local img, label = ds:get(4)
  lu.assertEquals(img:shape(), {3, 16, 16})
  lu.assertEquals(label, 4) -- index % 10, 1-based
  local again = data.synthetic{n = 20, size = 16, seed = 3}:get(4)
  lu.assertEquals(again:to_string(), img:to_string())
  local other = data.synthetic{n = 20, size = 16, seed = 4}:get(4)
  lu.assertNotEquals(other:to_string(), img:to_string())
  local sub = ds:subset({4, 1, 20})
  lu.assertEquals(#sub, 3)
  lu.assertEquals(sub.classes, ds.classes)
  lu.assertEquals(sub:get(1):to_string(), img:to_string())
  lu.assertEquals(select(2, sub:get(3)), 10)
  local sub2 = ds:subset(sslab.tensor({2, 3}, 'int64'))
  lu.assertEquals(select(2, sub2:get(2)), 3)
  lu.assertStrContains(err_of(ds.subset, ds, {21}), 'out of range')
  lu.assertStrContains(err_of(ds.get, ds, 0), 'out of range')
  lu.assertStrContains(err_of(data.synthetic, {n = 2, size = 4}), 'size')
  lu.assertStrContains(err_of(data.synthetic, {count = 2}), "unknown option 'count'")
end

function TestData:test_tensors_dataset()
  local x = sslab.zeros(4, 2, 5, 5):byte()
  local ds = data.tensors(x, sslab.tensor({1, 2, 3, 1}, 'int64'), {classes = {'a', 'b', 'c'}})
  lu.assertEquals(#ds, 4)
  lu.assertEquals(select(2, ds:get(3)), 3)
  lu.assertEquals(ds:get(1):shape(), {2, 5, 5})
  lu.assertStrContains(err_of(data.tensors, x, sslab.tensor({1, 2, 4, 0}, 'int64'), {classes = {'a', 'b', 'c'}}),
                       'outside')
end

os.exit(lu.LuaUnit.run())
