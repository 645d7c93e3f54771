-- test_random.lua - random tensors and generators from Lua: manual_seed
-- reproducibility, Generator objects, state round trips, 1-based index results.
local lu = require 'luaunit'
local sslab = require 'sslab'

TestSeed = {}

function TestSeed:testManualSeedReproducible()
  sslab.manual_seed(123)
  local a, b = sslab.rand(4, 5), sslab.randn(7)
  local c = sslab.randint(0, 10, {3, 3})
  local p = sslab.randperm(9)
  sslab.manual_seed(123)
  lu.assertEquals(sslab.rand(4, 5):totable(), a:totable())
  lu.assertEquals(sslab.randn(7):totable(), b:totable())
  lu.assertEquals(sslab.randint(0, 10, {3, 3}):totable(), c:totable())
  lu.assertEquals(sslab.randperm(9):totable(), p:totable())
  sslab.manual_seed(124)
  lu.assertNotEquals(sslab.rand(4, 5):totable(), a:totable())
end

function TestSeed:testRngStateRoundTrip()
  sslab.manual_seed(7)
  sslab.rand(3)
  local s = sslab.get_rng_state()
  lu.assertEquals(s:dtype(), 'int64')
  lu.assertEquals(s:totable(), {7, 4})
  local x = sslab.randn(5):totable()
  sslab.set_rng_state(s)
  lu.assertEquals(sslab.randn(5):totable(), x)
  lu.assertErrorMsgContains('generator state must be an int64 tensor of 2 elements', sslab.set_rng_state,
                            sslab.zeros(2))
end

TestGenerator = {}

function TestGenerator:testIndependentStreams()
  local g1, g2 = sslab.Generator(42), sslab.Generator(42)
  lu.assertEquals(g1:seed(), 42)
  lu.assertEquals(sslab.rand(3, g1):totable(), sslab.rand(3, g2):totable())
  lu.assertEquals(sslab.randn({2, 2}, g1):totable(), sslab.randn({2, 2}, g2):totable())
  -- the default generator is not disturbed by a generator argument
  sslab.manual_seed(1)
  local want = sslab.rand(4):totable()
  sslab.manual_seed(1)
  sslab.rand(100, g1)
  lu.assertEquals(sslab.rand(4):totable(), want)
  lu.assertStrContains(tostring(g1), 'sslab.Generator(seed=42, counter=')
  lu.assertIs(g1:manual_seed(5), g1)
  lu.assertEquals(g1:seed(), 5)
  sslab.manual_seed(g2, 5)
  lu.assertEquals(g1:get_state():totable(), g2:get_state():totable())
end

function TestGenerator:testStateRoundTrip()
  local g = sslab.Generator(9)
  sslab.rand(10, g)
  local s = g:get_state()
  lu.assertEquals(s:totable(), {9, 12})
  local a = sslab.randn(6, g):totable()
  local u = g:uniform()
  lu.assertIs(g:set_state(s), g)
  lu.assertEquals(sslab.randn(6, g):totable(), a)
  lu.assertEquals(g:uniform(), u)
  -- a state saved through bytes (as in a checkpoint)
  local bytes = s:to_string()
  local h = sslab.Generator()
  h:set_state(sslab.from_string(bytes, 'int64', {2}))
  lu.assertEquals(sslab.randn(6, h):totable(), a)
  lu.assertErrorMsgContains('generator state must be an int64 tensor', g.set_state, g, sslab.zeros(3, 'int64'))
end

function TestGenerator:testScalarDraws()
  local g = sslab.Generator(3)
  for _ = 1, 200 do
    local u = g:uniform()
    lu.assertTrue(u >= 0 and u < 1)
    local v = g:uniform(5, 6)
    lu.assertTrue(v >= 5 and v < 6)
    local r = g:random(6)
    lu.assertTrue(r >= 1 and r <= 6 and math.type(r) == 'integer')
  end
  lu.assertIsNumber(g:normal())
  lu.assertErrorMsgContains('must be at least 1', g.random, g, 0)
end

TestRandomTensors = {}

function TestRandomTensors:testRanges()
  local g = sslab.Generator(11)
  local u = sslab.rand(10000, g)
  lu.assertTrue(u:min() >= 0 and u:max() < 1)
  lu.assertAlmostEquals(u:mean(), 0.5, 0.02)
  local n = sslab.randn(10000, g)
  lu.assertAlmostEquals(n:mean(), 0, 0.05)
  lu.assertAlmostEquals(n:std(), 1, 0.05)
  local r = sslab.randint(-3, 4, {1000}, g)
  lu.assertEquals(r:dtype(), 'int64')
  lu.assertEquals(r:min(), -3)
  lu.assertEquals(r:max(), 3)
  lu.assertErrorMsgContains('randint: high (2) must be greater than low (2)', sslab.randint, 2, 2, {3})
  lu.assertErrorMsgContains('randint: range [-9223372036854775808, 9223372036854775807) is too large', sslab.randint,
                            math.mininteger, math.maxinteger, {2})
  local wide = sslab.randint(-1, math.maxinteger - 1, {100}, g) -- the widest allowed range (2^63 - 1)
  lu.assertEquals(wide:numel(), 100)
  local t = sslab.zeros(2000)
  lu.assertIs(t:uniform_(-1, 1, g), t)
  lu.assertTrue(t:min() >= -1 and t:max() < 1)
  t:normal_(10, 0.1, g)
  lu.assertAlmostEquals(t:mean(), 10, 0.05)
  t:bernoulli_(0.5, g)
  lu.assertAlmostEquals(t:mean(), 0.5, 0.05)
  lu.assertErrorMsgContains('uniform_: needs a contiguous float32 tensor, got float32 [3x2]',
                            function() return sslab.zeros(2, 3):t():uniform_() end)
end

function TestRandomTensors:testRandpermOneBased()
  local p = sslab.randperm(50)
  lu.assertEquals(p:dtype(), 'int64')
  local seen = {}
  for i = 1, 50 do
    local v = p[i]
    lu.assertTrue(v >= 1 and v <= 50 and not seen[v])
    seen[v] = true
  end
  lu.assertEquals(sslab.randperm(0):numel(), 0)
  lu.assertErrorMsgContains('must be non-negative', sslab.randperm, -1)
end

function TestRandomTensors:testMultinomial()
  local g = sslab.Generator(5)
  local probs = sslab.tensor({0, 1, 0, 3})
  local s = sslab.multinomial(probs, 4000, true, g)
  lu.assertEquals(s:dtype(), 'int64')
  lu.assertEquals(s:shape(), {4000})
  local c2, c4 = s:eq(2):sum(), s:eq(4):sum()
  lu.assertEquals(c2 + c4, 4000) -- only the 1-based categories 2 and 4
  lu.assertAlmostEquals(c4 / 4000, 0.75, 0.03)
  local w = sslab.multinomial(sslab.tensor({{1, 1, 1}, {1, 2, 3}}), 3, false, g)
  lu.assertEquals(w:shape(), {2, 3})
  for r = 1, 2 do
    local row = w[r]:totable()
    table.sort(row)
    lu.assertEquals(row, {1, 2, 3})
  end
  lu.assertErrorMsgContains('multinomial: cannot draw 4 samples from 3 categories without replacement',
                            sslab.multinomial, sslab.tensor({1, 1, 1}), 4)
  lu.assertErrorMsgContains('multinomial: row 1 has no positive weight left', sslab.multinomial,
                            sslab.tensor({1, 0, 1}), 3)
  lu.assertErrorMsgContains('multinomial: weight 2 of row 1 is -1', sslab.multinomial, sslab.tensor({1, -1}), 1)
  lu.assertErrorMsgContains('multinomial: probs must be a contiguous 1-d or 2-d float32 tensor, got int64 [2]',
                            sslab.multinomial, sslab.tensor({1, 1}, 'int64'), 1)
end

os.exit(lu.LuaUnit.run())
