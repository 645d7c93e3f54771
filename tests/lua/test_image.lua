-- test_image.lua - sslab.image: PNG/JPEG load, save, encode, decode from Lua.
local lu = require 'luaunit'
local sslab = require 'sslab'

local DIR = os.getenv('TMPDIR') or '/tmp'
local function tmp(name) return string.format('%s/sslab_img_%d_%s', DIR, math.random(1, 1e9), name) end

local function write_all(path, s)
    local f = assert(io.open(path, 'wb'))
    f:write(s)
    f:close()
end

-- a uint8 [c x h x w] test pattern
local function pattern(c, h, w)
    local t = sslab.zeros(c, h, w):byte()
    for k = 1, c do
        for y = 1, h do
            for x = 1, w do t[k][y][x] = (k * 60 + y * 13 + x * 7) % 256 end
        end
    end
    return t
end

local function same(a, b)
    if a:dim() ~= b:dim() then return false end
    for d = 1, a:dim() do
        if a:size(d) ~= b:size(d) then return false end
    end
    return a:to_string() == b:to_string()
end

TestImage = {}

function TestImage:setUp()
    self.files = {}
    self.path = function(name)
        local p = tmp(name)
        table.insert(self.files, p)
        return p
    end
end

function TestImage:tearDown()
    for _, p in ipairs(self.files) do os.remove(p) end
end

function TestImage:test_png_round_trip()
    for _, c in ipairs({1, 3, 4}) do
        local img = pattern(c, 5, 6)
        local p = self.path('rt' .. c .. '.png')
        lu.assertTrue(sslab.image.save(p, img))
        local back = sslab.image.load(p)
        lu.assertEquals(back:dtype(), 'uint8')
        lu.assertTrue(same(img, back))
    end
end

function TestImage:test_encode_decode()
    local img = pattern(3, 8, 8)
    local png = sslab.image.encode(img, 'png')
    lu.assertEquals(png:sub(2, 4), 'PNG')
    lu.assertTrue(same(sslab.image.decode(png), img))
    local jpg = sslab.image.encode(img, 'jpeg', {quality = 95})
    lu.assertEquals(jpg:byte(1), 0xff)
    local back = sslab.image.decode(jpg)
    lu.assertEquals(back:size(1), 3)
end

function TestImage:test_save_float()
    local x = sslab.zeros(1, 2, 2)
    x[1][1][1] = 1.0
    x[1][2][2] = 2.0 -- clamped
    local p = self.path('f.png')
    sslab.image.save(p, x)
    local back = sslab.image.load(p)
    lu.assertEquals(back[1][1][1], 255)
    lu.assertEquals(back[1][1][2], 0)
    lu.assertEquals(back[1][2][2], 255)
end

function TestImage:test_missing_returns_nil()
    local t, msg = sslab.image.load(self.path('missing.png'))
    lu.assertNil(t)
    lu.assertStrContains(msg, 'missing.png')
end

function TestImage:test_corrupt_raises()
    local p = self.path('bad.png')
    write_all(p, sslab.image.encode(pattern(3, 16, 16), 'png'):sub(1, 60))
    local ok, err = pcall(sslab.image.load, p)
    lu.assertFalse(ok)
    lu.assertStrContains(tostring(err), 'bad.png: truncated file')
    write_all(p, 'hello')
    ok, err = pcall(sslab.image.load, p)
    lu.assertFalse(ok)
    lu.assertStrContains(tostring(err), 'unknown format')
end

function TestImage:test_bad_arguments()
    local img = pattern(3, 4, 4)
    lu.assertErrorMsgContains('unknown option', sslab.image.save, self.path('x.jpg'), img, {qualty = 5})
    lu.assertErrorMsgContains('quality must be', sslab.image.save, self.path('x.jpg'), img, {quality = 0})
    lu.assertErrorMsgContains('cannot tell the format', sslab.image.save, self.path('x.bmp'), img)
    lu.assertErrorMsgContains('cannot encode 4 channels', sslab.image.encode, pattern(4, 2, 2), 'jpeg')
    lu.assertErrorMsgContains('uint8 or float32', sslab.image.save, self.path('x.png'), sslab.zeros(3, 2, 2):long())
end

os.exit(lu.LuaUnit.run())
