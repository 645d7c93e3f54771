-- test_tensor.lua - the sslab.Tensor binding: constructors, shape queries,
-- 1-based indexing, views, conversions, printing, error messages, GC.
local lu = require 'luaunit'
local sslab = require 'sslab'

local function same_table(a, b) lu.assertEquals(a, b) end

TestConstructors = {}

function TestConstructors:testNested()
  local t = sslab.tensor({{1, 2, 3}, {4, 5, 6}})
  same_table(t:shape(), {2, 3})
  lu.assertEquals(t:dtype(), 'float32')
  same_table(t:totable(), {{1, 2, 3}, {4, 5, 6}})
  local i = sslab.tensor({{1, 2}, {3, 4}}, 'int64')
  lu.assertEquals(i:dtype(), 'int64')
  lu.assertEquals(math.type(i[1][2]), 'integer')
  local big = sslab.tensor({9007199254740993}, 'int64') -- 2^53 + 1, exact
  lu.assertEquals(big[1], 9007199254740993)
  local b = sslab.tensor({true, false, 1})
  same_table(b:totable(), {1, 0, 1})
  local s = sslab.tensor(2.5)
  lu.assertEquals(s:dim(), 0)
  lu.assertEquals(s:item(), 2.5)
  same_table(sslab.tensor({}):shape(), {0})
  same_table(sslab.tensor({{}, {}}):shape(), {2, 0})
end

function TestConstructors:testNestedErrors()
  lu.assertErrorMsgContains('tensor: ragged nested table (dim 2 has 1 entries, expected 2)',
                            sslab.tensor, {{1, 2}, {3}})
  lu.assertErrorMsgContains('tensor: ragged nested table (dim 2 has 1 entries, expected 0)',
                            sslab.tensor, {{}, {1}})
  lu.assertErrorMsgContains('tensor: expected a table at depth 2', sslab.tensor, {{1, 2}, 3})
  lu.assertErrorMsgContains('tensor: element 2 at depth 1 is a string, not a number', sslab.tensor, {1, 'x'})
  lu.assertErrorMsgContains('tensor: element 2 at depth 1 is a table, not a number', sslab.tensor, {1, {2}})
  lu.assertErrorMsgContains("invalid option 'float64'", sslab.tensor, {1}, 'float64')
  lu.assertErrorMsgContains('table expected, got string', sslab.tensor, 'abc')
end

function TestConstructors:testSized()
  local z = sslab.zeros(2, 3)
  same_table(z:shape(), {2, 3})
  lu.assertEquals(z:sum(), 0)
  local o = sslab.ones({4}, 'int64')
  lu.assertEquals(o:dtype(), 'int64')
  same_table(o:totable(), {1, 1, 1, 1})
  local o2 = sslab.ones(2, 2, 'uint8')
  lu.assertEquals(o2:dtype(), 'uint8')
  local f = sslab.full({2, 2}, 7.5)
  same_table(f:totable(), {{7.5, 7.5}, {7.5, 7.5}})
  lu.assertEquals(sslab.full({3}, 4, 'int64'):dtype(), 'int64')
  local e = sslab.empty(3, 4)
  lu.assertEquals(e:numel(), 12)
  lu.assertEquals(sslab.zeros():dim(), 0)
  lu.assertErrorMsgContains('tensor: negative size -2 in dim 1', sslab.zeros, -2, 3)
  lu.assertErrorMsgContains('size must be an integer', sslab.zeros, 2.5)
  lu.assertErrorMsgContains('too many dims', sslab.zeros, 1, 1, 1, 1, 1, 1, 1, 1, 1)
end

function TestConstructors:testArangeEye()
  local a = sslab.arange(5)
  lu.assertEquals(a:dtype(), 'int64')
  same_table(a:totable(), {0, 1, 2, 3, 4}) -- values, not indices
  same_table(sslab.arange(2, 5):totable(), {2, 3, 4})
  same_table(sslab.arange(5, 0, -2):totable(), {5, 3, 1})
  local f = sslab.arange(0, 1, 0.25)
  lu.assertEquals(f:dtype(), 'float32')
  same_table(f:totable(), {0, 0.25, 0.5, 0.75})
  lu.assertEquals(sslab.arange(0, 2.5):dtype(), 'float32')
  lu.assertEquals(sslab.arange(3, 'float32'):dtype(), 'float32')
  lu.assertEquals(sslab.arange(0):numel(), 0)
  lu.assertEquals(sslab.arange(5, 2):numel(), 0)
  lu.assertErrorMsgContains('step must be non-zero', sslab.arange, 0, 5, 0)
  same_table(sslab.eye(2):totable(), {{1, 0}, {0, 1}})
  same_table(sslab.eye(2, 3):totable(), {{1, 0, 0}, {0, 1, 0}})
end

function TestConstructors:testStringRoundTrip()
  for _, dt in ipairs({'float32', 'int64', 'uint8'}) do
    local t = sslab.tensor({{1, 2, 3}, {4, 5, 250}}, dt)
    local s = t:to_string()
    lu.assertEquals(#s, 6 * ({float32 = 4, int64 = 8, uint8 = 1})[dt])
    local back = sslab.from_string(s, dt, {2, 3})
    same_table(back:totable(), t:totable())
    lu.assertEquals(back:dtype(), dt)
  end
  -- non-contiguous: bytes in logical order
  local t = sslab.tensor({{1, 2}, {3, 4}})
  same_table(sslab.from_string(t:t():to_string()):totable(), {1, 3, 2, 4})
  lu.assertErrorMsgContains('from_string: 7 bytes given, but float32 [2] needs 8', sslab.from_string,
                            'abcdefg', 'float32', {2})
end

function TestConstructors:testCatStack()
  local a, b = sslab.tensor({{1, 2}}), sslab.tensor({{3, 4}, {5, 6}})
  same_table(sslab.cat({a, b}):totable(), {{1, 2}, {3, 4}, {5, 6}})
  same_table(sslab.cat({b, b:t()}, 2):totable(), {{3, 4, 3, 5}, {5, 6, 4, 6}})
  same_table(sslab.cat({b, b}, -1):shape(), {2, 4})
  local s = sslab.stack({sslab.tensor({1, 2}), sslab.tensor({3, 4})})
  same_table(s:totable(), {{1, 2}, {3, 4}})
  same_table(sslab.stack({sslab.tensor({1, 2}), sslab.tensor({3, 4})}, 2):totable(), {{1, 3}, {2, 4}})
  lu.assertErrorMsgContains('stack: tensor 2 is [3] but tensor 1 is [2]', sslab.stack,
                            {sslab.tensor({1, 2}), sslab.tensor({1, 2, 3})})
  lu.assertErrorMsgContains('cat: tensor 2 (float32 [3]) does not match tensor 1 (float32 [1x2])', sslab.cat,
                            {a, sslab.tensor({1, 2, 3})}, 2)
  lu.assertErrorMsgContains('cat: entry 2 is a number, not a tensor', sslab.cat, {a, 5})
  lu.assertErrorMsgContains('empty list of tensors', sslab.cat, {})
end

TestShape = {}

function TestShape:testQueries()
  local t = sslab.zeros(2, 3, 4)
  same_table(t:shape(), {2, 3, 4})
  same_table(t:size(), {2, 3, 4})
  lu.assertEquals(t:size(2), 3)
  lu.assertEquals(t:size(-1), 4)
  lu.assertEquals(t:dim(), 3)
  lu.assertEquals(t:numel(), 24)
  lu.assertEquals(#t, 2)
  same_table(t:stride(), {12, 4, 1})
  lu.assertTrue(t:is_contiguous())
  lu.assertFalse(t:transpose(1, 3):is_contiguous())
  lu.assertTrue(sslab.is_tensor(t))
  lu.assertFalse(sslab.is_tensor({}))
  lu.assertEquals(#sslab.tensor(1), 0)
  lu.assertErrorMsgContains('dim 4 out of range (tensor has 3 dims; dims are 1-based)', t.size, t, 4)
  lu.assertErrorMsgContains('dim 0 out of range', t.size, t, 0)
end

TestIndexing = {}

function TestIndexing:testReadOneBased()
  local v = sslab.tensor({10, 20, 30})
  lu.assertEquals(v[1], 10)
  lu.assertEquals(v[3], 30)
  lu.assertEquals(v[-1], 30)
  lu.assertEquals(v[-3], 10)
  lu.assertIsNumber(v[2])
  local m = sslab.tensor({{1, 2, 3}, {4, 5, 6}})
  local row = m[2]
  lu.assertTrue(sslab.is_tensor(row))
  same_table(row:totable(), {4, 5, 6})
  lu.assertEquals(m[2][3], 6)
  lu.assertEquals(m[-1][-1], 6)
  lu.assertEquals(m[1.0][1], 1) -- integral floats are fine
  lu.assertErrorMsgContains('index 4 out of range for dim 1 of [3] (indices are 1-based)', function() return v[4] end)
  lu.assertErrorMsgContains('index 0 out of range for dim 1 of [3]', function() return v[0] end)
  lu.assertErrorMsgContains('index -4 out of range', function() return v[-4] end)
  lu.assertErrorMsgContains('tensor index must be an integer, got 1.5', function() return v[1.5] end)
  lu.assertErrorMsgContains('cannot index a 0-d tensor', function() return sslab.tensor(1)[1] end)
  lu.assertNil(v.no_such_method)
end

function TestIndexing:testWrite()
  local m = sslab.zeros(2, 3)
  m[1] = 5
  same_table(m:totable(), {{5, 5, 5}, {0, 0, 0}})
  m[2] = sslab.tensor({1, 2, 3})
  same_table(m[2]:totable(), {1, 2, 3})
  m[-1] = sslab.tensor({7}) -- broadcast
  same_table(m[2]:totable(), {7, 7, 7})
  m[1][2] = -1 -- through a view: shares storage
  lu.assertEquals(m[1][2], -1)
  local v = sslab.zeros(3)
  v[2] = 4
  same_table(v:totable(), {0, 4, 0})
  local mt = m:t() -- write into a transposed view
  mt[3] = sslab.tensor({8, 9})
  same_table(m:totable(), {{5, -1, 8}, {7, 7, 9}})
  lu.assertErrorMsgContains('index 3 out of range for dim 1 of [2x3]', function() m[3] = 1 end)
  lu.assertErrorMsgContains('copy: source [2] does not match destination [3]', function() m[1] = sslab.zeros(2) end)
  lu.assertErrorMsgContains('tensor index must be an integer, got string', function() m.foo = 1 end)
end

function TestIndexing:testItemTotable()
  lu.assertEquals(sslab.tensor({{3}}):item(), 3)
  lu.assertEquals(math.type(sslab.tensor({3}, 'int64'):item()), 'integer')
  lu.assertEquals(math.type(sslab.tensor({3}, 'uint8'):item()), 'integer')
  lu.assertErrorMsgContains('item: tensor [2] has 2 elements, not 1', function() return sslab.zeros(2):item() end)
  lu.assertEquals(sslab.tensor(4):totable(), 4)
  same_table(sslab.tensor({{1, 2}, {3, 4}}):t():totable(), {{1, 3}, {2, 4}})
end

TestViews = {}

function TestViews:testViewsShareStorage()
  local t = sslab.arange(12):float():view(3, 4)
  local n = t:narrow(2, 2, 2)
  same_table(n:totable(), {{1, 2}, {5, 6}, {9, 10}})
  n:fill_(0)
  same_table(t[1]:totable(), {0, 0, 0, 3})
  local s = t:select(1, 3)
  same_table(s:totable(), {8, 0, 0, 11})
  same_table(t:select(2, -1):totable(), {3, 7, 11})
  same_table(t:narrow(1, -1, 1):totable(), {{8, 0, 0, 11}})
  same_table(t:transpose(1, 2):shape(), {4, 3})
  same_table(t:t():shape(), {4, 3})
  same_table(t:transpose():shape(), {4, 3})
  local p = sslab.zeros(2, 3, 4):permute(3, 1, 2)
  same_table(p:shape(), {4, 2, 3})
  same_table(sslab.zeros(2, 3, 4):permute({-1, 1, 2}):shape(), {4, 2, 3})
  same_table(sslab.tensor({1, 2}):unsqueeze(1):shape(), {1, 2})
  same_table(sslab.tensor({1, 2}):unsqueeze(2):shape(), {2, 1})
  same_table(sslab.tensor({1, 2}):unsqueeze(-1):shape(), {2, 1})
  same_table(sslab.zeros(1, 3, 1):squeeze():shape(), {3})
  same_table(sslab.zeros(1, 3, 1):squeeze(3):shape(), {1, 3})
  local e = sslab.tensor({{1}, {2}}):expand(2, 3)
  same_table(e:totable(), {{1, 1, 1}, {2, 2, 2}})
  same_table(e:stride(), {1, 0})
  same_table(t:view(-1):shape(), {12})
  same_table(t:view({2, 6}):shape(), {2, 6})
  same_table(t:t():reshape(12):totable(), {0, 4, 8, 0, 0, 0, 0, 0, 0, 3, 7, 11})
  same_table(sslab.zeros(2, 3, 4):flatten():shape(), {24})
  same_table(sslab.zeros(2, 3, 4):flatten(2):shape(), {2, 12})
  local c = t:t():contiguous()
  lu.assertTrue(c:is_contiguous())
  local cl = t:clone()
  cl:fill_(5)
  lu.assertEquals(t[1][1], 0)
end

function TestViews:testViewErrors()
  local t = sslab.zeros(3, 4)
  lu.assertErrorMsgContains('view: tensor [4x3] is not contiguous (use reshape or contiguous)',
                            function() return t:t():view(12) end)
  lu.assertErrorMsgContains('view: shape [3x4] has 12 elements, the new shape 10', t.view, t, 5, 2)
  lu.assertErrorMsgContains('narrow: range [3, 5] out of bounds for dim 2 of [3x4]', t.narrow, t, 2, 3, 3)
  lu.assertErrorMsgContains('select: index 4 out of range for dim 1 of [3x4]', t.select, t, 1, 4)
  lu.assertErrorMsgContains('dim 3 out of range (tensor has 2 dims', t.select, t, 3, 1)
  lu.assertErrorMsgContains('t: needs a 2-d tensor, got [2x3x4]', function() return sslab.zeros(2, 3, 4):t() end)
  lu.assertErrorMsgContains('permute: 0 is not a valid permutation entry for [3x4]', t.permute, t, 0, 1)
  lu.assertErrorMsgContains('expand: cannot expand [3x4] to size 5 in dim 2', t.expand, t, 3, 5)
  -- huge sizes and ranges are errors, not overflows
  lu.assertErrorMsgContains('narrow: range [2, 9223372036854775807] out of bounds for dim 1 of [3x4]',
                            t.narrow, t, 1, 2, math.maxinteger)
  lu.assertErrorMsgContains('view: new shape is too large for [3x4] with 12 elements', t.view, t, math.maxinteger, 2)
  lu.assertErrorMsgContains('index 1099511627776 out of range for dim 1 of [3x4]', function() return t[2 ^ 40] end)
  lu.assertErrorMsgContains('sslab.Tensor expected, got number', t.view, 5, 1)
  lu.assertErrorMsgContains('sslab.Tensor expected, got no value', t.view)
end

function TestViews:testDtypeConversion()
  local f = sslab.tensor({-1.5, 2.7, 300})
  same_table(f:long():totable(), {-1, 2, 300})
  same_table(f:byte():totable(), {0, 2, 255})
  lu.assertEquals(f:to('int64'):dtype(), 'int64')
  lu.assertEquals(f:float(), f) -- same dtype: the same object
  lu.assertErrorMsgContains("invalid option 'double'", f.to, f, 'double')
end

function TestViews:testIndexSelectCopyAdd()
  local t = sslab.tensor({{1, 2}, {3, 4}, {5, 6}})
  same_table(t:index_select(1, {3, 1, 3}):totable(), {{5, 6}, {1, 2}, {5, 6}})
  same_table(t:index_select(2, sslab.tensor({2}, 'int64')):totable(), {{2}, {4}, {6}})
  lu.assertErrorMsgContains('index_select: index 4 (entry 2) out of range [1, 3]', t.index_select, t, 1, {1, 4})
  lu.assertErrorMsgContains('index_select: index 0 (entry 1) out of range [1, 3]', t.index_select, t, 1, {0})
  lu.assertErrorMsgContains('index_select: index must be a 1-d int64 tensor or a table, got float32 [2]',
                            t.index_select, t, 1, sslab.tensor({1, 2}))
  lu.assertErrorMsgContains('index_select: index entry 1 is not an integer', t.index_select, t, 1, {1.5})
  local d = sslab.zeros(3, 2)
  lu.assertEquals(d:index_copy_(1, {3, 1}, sslab.tensor({{1, 1}, {2, 2}})), d)
  same_table(d:totable(), {{2, 2}, {0, 0}, {1, 1}})
  d:index_add_(1, {1, 1}, sslab.tensor({{1, 1}, {2, 2}}))
  same_table(d:totable(), {{5, 5}, {0, 0}, {1, 1}})
end

TestPrint = {}

function TestPrint:testFormat()
  lu.assertEquals(tostring(sslab.tensor({{1, -2.5}, {3, 4}})),
                  'tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]])\n[float32 2x2]')
  lu.assertEquals(tostring(sslab.tensor({1, 2, 3})), 'tensor([1., 2., 3.])\n[float32 3]')
  lu.assertEquals(tostring(sslab.tensor({1, 2}, 'int64')), 'tensor([1, 2])\n[int64 2]')
  lu.assertEquals(tostring(sslab.tensor(3.5)), 'tensor(3.5000)\n[float32 scalar]')
  lu.assertEquals(tostring(sslab.zeros(2, 0)), 'tensor([])\n[float32 2x0]')
  lu.assertEquals(tostring(sslab.tensor({1e-5, 1})), 'tensor([1.0000e-05, 1.0000e+00])\n[float32 2]')
  lu.assertEquals(tostring(sslab.tensor({0 / 0, 1 / 0, 1.5})), 'tensor([   nan,    inf, 1.5000])\n[float32 3]')
  lu.assertEquals(tostring(sslab.arange(8):view(2, 2, 2)),
                  'tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])\n[int64 2x2x2]')
  local freed = sslab.zeros(2)
  freed:free()
  lu.assertEquals(tostring(freed), 'sslab.Tensor (freed)')
  lu.assertErrorMsgContains('tensor has been freed', freed.numel, freed)
end

function TestPrint:testSummarized()
  local s = tostring(sslab.arange(2000))
  lu.assertEquals(s, 'tensor([   0,    1,    2, ..., 1997, 1998, 1999])\n[int64 2000]')
  local m = tostring(sslab.zeros(40, 40))
  lu.assertStrContains(m, 'tensor([[0., 0., 0., ..., 0., 0., 0.],\n        [0., 0., 0., ..., 0., 0., 0.],')
  lu.assertStrContains(m, '        ...,\n')
  lu.assertStrContains(m, '[float32 40x40]')
  local _, lines = m:gsub('\n', '')
  lu.assertEquals(lines, 7) -- 3 rows, ..., 3 rows, then the dtype line
  -- exactly 1000 elements are not summarised
  lu.assertNotStrContains(tostring(sslab.zeros(1000)), '...')
end

TestMemory = {}

function TestMemory:testGcKeepsMemoryBounded()
  collectgarbage()
  local base = sslab.memory_in_use()
  local peak = 0
  for _ = 1, 2000 do
    local t = sslab.empty(262144) -- 1 MB, dropped at once (empty: no page touching, keeps the test fast)
    t = t:narrow(1, 1, 10) + 1 -- a view and a small result too
    peak = math.max(peak, sslab.memory_in_use() - base)
  end
  lu.assertTrue(peak < 400 * 2 ^ 20, string.format('peak %.0f MB', peak / 2 ^ 20))
  collectgarbage()
  lu.assertTrue(sslab.memory_in_use() - base < 2 ^ 20)
end

function TestMemory:testClose()
  collectgarbage()
  local before = sslab.memory_in_use()
  do
    local t <close> = sslab.zeros(1 << 20)
    lu.assertTrue(sslab.memory_in_use() >= before + 4 * (1 << 20))
  end
  lu.assertTrue(sslab.memory_in_use() < before + 4096)
  -- a view keeps the storage alive after its base is closed
  local v
  do
    local t <close> = sslab.arange(10):float()
    v = t:narrow(1, 3, 2)
  end
  same_table(v:totable(), {2, 3})
end

os.exit(lu.LuaUnit.run())
