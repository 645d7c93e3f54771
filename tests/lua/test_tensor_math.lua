-- test_tensor_math.lua - tensor arithmetic from Lua: operators, in-place
-- methods, comparisons, unary math, reductions, matmul, sort/topk, errors.
local lu = require 'luaunit'
local sslab = require 'sslab'

local function T(t, dt) return sslab.tensor(t, dt) end
local function eq(t, want) lu.assertEquals(t:totable(), want) end
local function near(t, want, tol)
  local got = t:totable()
  local function walk(a, b)
    if type(b) == 'table' then
      lu.assertEquals(#a, #b)
      for i = 1, #b do walk(a[i], b[i]) end
    else
      lu.assertAlmostEquals(a, b, tol or 1e-5)
    end
  end
  walk(got, want)
end

TestOperators = {}

function TestOperators:testArithmetic()
  local a, b = T({1, 2, 3}), T({4, 5, 6})
  eq(a + b, {5, 7, 9})
  eq(a - b, {-3, -3, -3})
  eq(a * b, {4, 10, 18})
  near(b / a, {4, 2.5, 2})
  eq(a ^ 2, {1, 4, 9})
  eq(-a, {-1, -2, -3})
  -- numbers on either side
  eq(a + 1, {2, 3, 4})
  eq(1 + a, {2, 3, 4})
  eq(10 - a, {9, 8, 7})
  eq(a - 10, {-9, -8, -7})
  eq(2 * a, {2, 4, 6})
  near(6 / a, {6, 3, 2})
  eq(2 ^ a, {2, 4, 8})
  -- % is Lua's floored modulo, sign of the divisor
  eq(T({-5, 5, -4.5}) % 3, {1, 2, 1.5})
  eq(T({-5, 5}) % -3, {-2, -1})
  eq(T({7, -7}, 'int64') % 3, {1, 2})
  eq(7 % T({3, -3}), {1, -2})
  eq(T({-5, 5}):fmod(3), {-2, 2}) -- fmod truncates
  eq(T({-5, 5}):remainder(3), {1, 2})
  -- broadcasting
  eq(T({{1}, {2}}) + T({10, 20, 30}), {{11, 21, 31}, {12, 22, 32}})
  eq(T({{1, 2}, {3, 4}}):t() * T({1, 10}), {{1, 30}, {2, 40}})
  lu.assertErrorMsgContains('add: shapes [3] and [2] cannot be broadcast (dim 1: 3 vs 2)',
                            function() return a + T({1, 2}) end)
  lu.assertErrorMsgContains("bad argument #2 to 'add' (sslab.Tensor expected, got string)",
                            function() return a + 'x' end)
  lu.assertErrorMsgContains('sslab.Tensor expected, got table', function() return a * {} end)
end

function TestOperators:testDtypes()
  local i = T({1, 2, 3}, 'int64')
  lu.assertEquals((i + i):dtype(), 'int64')
  lu.assertEquals((i * 2):dtype(), 'int64')
  lu.assertEquals((i + 0.5):dtype(), 'float32')
  lu.assertEquals((i / 2):dtype(), 'float32')
  eq(i / 2, {0.5, 1, 1.5})
  lu.assertEquals((i + T({1, 1, 1})):dtype(), 'float32')
  local u = T({200, 100}, 'uint8')
  lu.assertEquals((u + u):dtype(), 'uint8')
  eq(u + u, {255, 200}) -- saturates
end

function TestOperators:testInPlaceReturnsSelf()
  local a = T({1, 2, 3})
  lu.assertIs(a:add_(1), a)
  eq(a, {2, 3, 4})
  lu.assertIs(a:mul_(T({1, 2, 3})), a)
  eq(a, {2, 6, 12})
  a:sub_(T({1, 1, 1}), 2) -- a - 2 * x
  eq(a, {0, 4, 10})
  a:add_(1, 3) -- a + 3 * 1
  eq(a, {3, 7, 13})
  lu.assertIs(a:div_(2), a)
  eq(a, {1.5, 3.5, 6.5})
  lu.assertIs(a:neg_(), a)
  lu.assertIs(a:abs_(), a)
  lu.assertIs(a:clamp_(2, 5), a)
  eq(a, {2, 3.5, 5})
  lu.assertIs(a:fill_(1), a)
  lu.assertIs(a:zero_(), a)
  eq(a, {0, 0, 0})
  lu.assertIs(a:copy_(T({9, 8, 7})), a)
  eq(a, {9, 8, 7})
  -- in place into a non-contiguous view writes through
  local m = sslab.zeros(2, 3)
  m:t():add_(T({1, 2}))
  eq(m, {{1, 1, 1}, {2, 2, 2}})
  lu.assertErrorMsgContains('add: output [3] does not match the result shape',
                            function() return T({1, 2, 3}):add_(sslab.zeros(2, 3)) end)
  lu.assertErrorMsgContains('tensor or number expected', function() return a:add() end)
end

function TestOperators:testComparisons()
  local a, b = T({1, 2, 3}), T({3, 2, 1})
  local m = a:lt(b)
  lu.assertEquals(m:dtype(), 'uint8')
  eq(m, {1, 0, 0})
  eq(a:le(b), {1, 1, 0})
  eq(a:gt(b), {0, 0, 1})
  eq(a:ge(2), {0, 1, 1})
  eq(a:eq(b), {0, 1, 0})
  eq(a:ne(2), {1, 0, 1})
  eq(T({0 / 0, 1}):eq(T({0 / 0, 1})), {0, 1})
  eq(sslab.where(a:gt(1), a, 0), {0, 2, 3})
  eq(sslab.where(a:gt(1), -1, b), {3, -1, -1})
  eq(a:gt(1):where(a, b), {3, 2, 3})
  eq(a:maximum(b), {3, 2, 3})
  eq(a:minimum(2), {1, 2, 2})
end

function TestOperators:testUnaryAndClamp()
  near(T({0, 1}):exp(), {1, math.exp(1)})
  near(T({1, math.exp(2)}):log(), {0, 2})
  near(T({4, 9}):sqrt(), {2, 3})
  near(T({4}):rsqrt(), {0.5})
  near(T({0}):sigmoid(), {0.5})
  near(T({0.5}):tanh(), {math.tanh and math.tanh(0.5) or 0.46211715726001})
  eq(T({-1, 2}):relu(), {0, 2})
  eq(T({-1.5, 1.5}):floor(), {-2, 1})
  eq(T({-1.5, 1.5}):ceil(), {-1, 2})
  eq(T({0.5, 1.5, 2.5}):round(), {0, 2, 2}) -- half to even
  eq(T({-3, 0, 2}):sign(), {-1, 0, 1})
  eq(T({-3, 0, 2}, 'int64'):abs(), {3, 0, 2})
  near(T({0}):sin(), {0})
  near(T({0}):cos(), {1})
  near(T({0}):log1p(), {0})
  eq(T({2, 4}):reciprocal(), {0.5, 0.25})
  eq(T({-3}):square(), {9})
  eq(T({-2, 0, 2}):clamp(-1, 1), {-1, 0, 1})
  eq(T({-2, 0, 2}):clamp(nil, 1), {-2, 0, 1})
  eq(T({-2, 0, 2}):clamp(0), {0, 0, 2})
  lu.assertErrorMsgContains('clamp: min 1 is greater than max 0', function() return T({1}):clamp(1, 0) end)
  lu.assertErrorMsgContains('exp: needs a float32 tensor, got int64 [2]', function() return T({1, 2}, 'int64'):exp() end)
  local x = T({1, 4})
  lu.assertIs(x:sqrt_(), x)
  eq(x, {1, 2})
end

TestReductions = {}

function TestReductions:testAll()
  local t = T({{1, -2, 3}, {4, 0, -6}})
  lu.assertEquals(t:sum(), 0)
  lu.assertEquals(t:mean(), 0)
  lu.assertEquals(t:prod(), 0)
  lu.assertEquals(t:max(), 4)
  lu.assertEquals(t:min(), -6)
  lu.assertEquals(t:argmax(), 4) -- 1-based flat position
  lu.assertEquals(t:argmin(), 6)
  lu.assertEquals(t:norm(1), 16)
  lu.assertAlmostEquals(t:norm(), math.sqrt(66), 1e-9)
  lu.assertEquals(t:norm(math.huge), 6)
  lu.assertAlmostEquals(t:var(), 66 / 5, 1e-9)
  lu.assertAlmostEquals(t:var(nil, false), 11, 1e-9)
  lu.assertAlmostEquals(t:std(), math.sqrt(66 / 5), 1e-9)
  local i = T({1, 2, 3}, 'int64')
  lu.assertEquals(math.type(i:sum()), 'integer')
  lu.assertEquals(i:sum(), 6)
  lu.assertEquals(math.type(i:max()), 'integer')
  lu.assertEquals(i:mean(), 2)
  lu.assertEquals(math.type(T({1.5}):sum()), 'float')
  local n = T({1, 0 / 0, 3})
  lu.assertTrue(n:sum() ~= n:sum())
  lu.assertTrue(n:max() ~= n:max())
  lu.assertTrue(n:norm(math.huge) ~= n:norm(math.huge))
  lu.assertEquals(n:argmax(), 2)
  lu.assertErrorMsgContains('max: cannot reduce an empty tensor', function() return sslab.zeros(0):max() end)
  lu.assertErrorMsgContains('norm: p must be positive, got 0', function() return t:norm(0) end)
end

function TestReductions:testAlongDim()
  local t = T({{1, 5, 3}, {4, 2, 6}})
  eq(t:sum(1), {5, 7, 9})
  eq(t:sum(2), {9, 12})
  eq(t:sum(-1), {9, 12})
  eq(t:sum(2, true), {{9}, {12}})
  eq(t:mean(1), {2.5, 3.5, 4.5})
  eq(t:prod(2), {15, 48})
  local v, i = t:max(2)
  eq(v, {5, 6})
  eq(i, {2, 3}) -- 1-based
  lu.assertEquals(i:dtype(), 'int64')
  v, i = t:min(1, true)
  eq(v, {{1, 2, 3}})
  eq(i, {{1, 2, 1}})
  eq(t:argmax(1), {2, 1, 2})
  eq(t:argmin(2), {1, 2})
  near(t:norm(2, 2), {math.sqrt(35), math.sqrt(56)})
  near(t:norm(1, 1, true), {{5, 7, 9}})
  near(t:var(2), {4, 4})
  near(t:std(1, false), {1.5, 1.5, 1.5})
  -- ties: first index
  local _, ti = T({3, 7, 7, 1}):max(1)
  lu.assertEquals(ti:item(), 2)
  -- transposed input
  eq(t:t():sum(1), {9, 12})
  lu.assertErrorMsgContains('dim 3 out of range (tensor has 2 dims; dims are 1-based)', function() return t:sum(3) end)
  lu.assertErrorMsgContains("bad argument #1 to 'sum'", function() return t:sum(3) end)
  lu.assertErrorMsgContains('number expected, got string', function() return t:sum('x') end)
end

TestMatmul = {}

function TestMatmul:testShapes()
  lu.assertEquals(sslab.randn(3, 4):matmul(sslab.randn(4, 2)):shape()[2], 2)
  lu.assertEquals(sslab.randn(3, 4):matmul(sslab.randn(4, 2)):shape()[1], 3)
  lu.assertEquals(sslab.randn(3, 4):matmul(sslab.randn(4)):dim(), 1)
  lu.assertEquals(sslab.randn(4):matmul(sslab.randn(4)):dim(), 0)
  lu.assertEquals(sslab.randn(5, 3, 4):matmul(sslab.randn(4, 2)):shape()[1], 5)
  lu.assertEquals(sslab.randn(5, 3, 4):bmm(sslab.randn(5, 4, 2)):shape()[3], 2)
  lu.assertEquals(sslab.randn(3, 4):mm(sslab.randn(4, 6)):numel(), 18)
end

function TestMatmul:testValues()
  local a = T({{1, 2}, {3, 4}, {5, 6}})
  local b = T({{1, 0, 2}, {0, 1, 3}})
  eq(a:matmul(b), {{1, 2, 8}, {3, 4, 18}, {5, 6, 28}})
  eq(a:t():matmul(a), {{35, 44}, {44, 56}}) -- transposed operand
  eq(b:t():matmul(b:t():t()), {{1, 0, 2}, {0, 1, 3}, {2, 3, 13}})
  eq(a:matmul(T({1, 1})), {3, 7, 11})
  lu.assertEquals(T({1, 2}):matmul(T({3, 4})):item(), 11)
  local out = sslab.ones(3, 3)
  lu.assertIs(out:addmm_(a, b, 0.5, 2), out)
  eq(out, {{2.5, 4.5, 16.5}, {6.5, 8.5, 36.5}, {10.5, 12.5, 56.5}})
  eq(sslab.zeros(2, 0):matmul(sslab.zeros(0, 3)), {{0, 0, 0}, {0, 0, 0}}) -- K = 0
end

function TestMatmul:testErrors()
  lu.assertErrorMsgContains('matmul: [3x4] @ [5x2]: inner sizes 4 and 5 differ',
                            function() return sslab.randn(3, 4):matmul(sslab.randn(5, 2)) end)
  local ok, err = pcall(function() return sslab.randn(3, 4):matmul(sslab.randn(5, 2)) end)
  lu.assertFalse(ok)
  lu.assertStrMatches(err, '.*matmul: %[3x4%] @ %[5x2%]: inner sizes 4 and 5 differ$')
  lu.assertErrorMsgContains('matmul: needs float32 tensors, got int64 [4x2]',
                            function() return sslab.randn(3, 4):matmul(sslab.zeros(4, 2, 'int64')) end)
  lu.assertErrorMsgContains('bmm: needs [B x M x K] @ [B x K x N], got [3x4] @ [4x2]',
                            function() return sslab.randn(3, 4):bmm(sslab.randn(4, 2)) end)
  lu.assertErrorMsgContains('addmm: [3x4] @ [4x2] does not fit output [3x3]',
                            function() return sslab.zeros(3, 3):addmm_(sslab.randn(3, 4), sslab.randn(4, 2)) end)
  lu.assertErrorMsgContains('sslab.Tensor expected, got number', function() return sslab.randn(3, 4):matmul(2) end)
end

TestSort = {}

function TestSort:testSortTopk()
  local t = T({3, 1, 2, 1})
  local v, i = t:sort()
  eq(v, {1, 1, 2, 3})
  eq(i, {2, 4, 3, 1}) -- 1-based, stable
  v, i = t:sort(1, true)
  eq(v, {3, 2, 1, 1})
  eq(i, {1, 3, 2, 4})
  v, i = T({1, 0 / 0, 2}):sort()
  eq(i, {1, 3, 2}) -- NaN last
  v, i = T({{5, 1, 4}, {2, 9, 0}}):topk(2)
  eq(v, {{5, 4}, {9, 2}})
  eq(i, {{1, 3}, {2, 1}})
  v, i = T({{5, 1, 4}, {2, 9, 0}}):topk(1, 1, false)
  eq(v, {{2, 1, 0}})
  eq(i, {{2, 1, 2}})
  lu.assertErrorMsgContains('topk: k = 4 out of range for dim 2 of size 3',
                            function() return T({{5, 1, 4}}):topk(4) end)
  lu.assertErrorMsgContains('sort: needs at least one dim', function() return T(1):sort() end)
end

os.exit(lu.LuaUnit.run())
