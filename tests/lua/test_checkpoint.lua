-- test_checkpoint.lua - sslab.save / sslab.load (safetensors checkpoints) from Lua.
local lu = require 'luaunit'
local sslab = require 'sslab'

local DIR = os.getenv('TMPDIR') or '/tmp'
local function tmp(name) return string.format('%s/sslab_ckpt_%d_%s', DIR, math.random(1, 1e9), name) end

local function read_all(path)
    local f = assert(io.open(path, 'rb'))
    local s = f:read('a')
    f:close()
    return s
end

local function write_all(path, s)
    local f = assert(io.open(path, 'wb'))
    f:write(s)
    f:close()
end

-- a safetensors file from a header string and data bytes
local function st_bytes(header, data) return string.pack('<I8', #header) .. header .. (data or '') end

TestCheckpoint = {}

function TestCheckpoint:setUp()
    self.files = {}
    self.path = function(name)
        local p = tmp(name)
        table.insert(self.files, p)
        return p
    end
end

function TestCheckpoint:tearDown()
    for _, p in ipairs(self.files) do os.remove(p) end
end

function TestCheckpoint:test_round_trip()
    local p = self.path('rt.safetensors')
    local w = sslab.tensor({{1.5, -2}, {3.25, 0}})
    local idx = sslab.tensor({math.mininteger, -1, 0, math.maxinteger}, 'int64')
    local img = sslab.tensor({{0, 1, 255}}, 'uint8')
    local step = sslab.tensor(42)            -- 0-d
    local empty = sslab.zeros({0, 3})
    local tr = sslab.tensor({{1, 2, 3}, {4, 5, 6}}):t()   -- non-contiguous view
    lu.assertFalse(tr:is_contiguous())
    lu.assertTrue(sslab.save(p, {['encoder.w'] = w, idx = idx, img = img, step = step, empty = empty, tr = tr},
                             {epoch = '12', recipe = 'mocov2'}))
    local t, meta = sslab.load(p)
    lu.assertEquals(t['encoder.w']:totable(), {{1.5, -2}, {3.25, 0}})
    lu.assertEquals(t['encoder.w']:dtype(), 'float32')
    lu.assertEquals(t.idx:totable(), {math.mininteger, -1, 0, math.maxinteger})
    lu.assertEquals(t.idx:dtype(), 'int64')
    lu.assertEquals(t.img:totable(), {{0, 1, 255}})
    lu.assertEquals(t.img:dtype(), 'uint8')
    lu.assertEquals(t.step:dim(), 0)
    lu.assertEquals(t.step:item(), 42)
    lu.assertEquals(t.empty:shape(), {0, 3})
    lu.assertEquals(t.tr:totable(), {{1, 4}, {2, 5}, {3, 6}})
    lu.assertEquals(meta, {epoch = '12', recipe = 'mocov2'})
end

function TestCheckpoint:test_no_metadata_gives_empty_table()
    local p = self.path('nometa.safetensors')
    sslab.save(p, {x = sslab.zeros(2)})
    local t, meta = sslab.load(p)
    lu.assertEquals(t.x:shape(), {2})
    lu.assertEquals(meta, {})
    sslab.save(p, {})
    t, meta = sslab.load(p)
    lu.assertEquals(t, {})
end

function TestCheckpoint:test_bytes_match_python_safetensors()
    -- The Rust crate's test_serialization vector (what Python's save_file writes):
    -- {"attn.0": float32 [1,2,3] = 0..5}, header 64 bytes (no padding needed).
    local p = self.path('exact.safetensors')
    sslab.save(p, {['attn.0'] = sslab.tensor({{{0, 1, 2}, {3, 4, 5}}})})
    local header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'
    lu.assertEquals(read_all(p), st_bytes(header, string.pack('<ffffff', 0, 1, 2, 3, 4, 5)))
    -- metadata first, padded with spaces to a multiple of 8
    sslab.save(p, {}, {framework = 'pt'})
    lu.assertEquals(read_all(p), st_bytes('{"__metadata__":{"framework":"pt"}}     '))
end

function TestCheckpoint:test_missing_file_returns_nil_msg()
    local t, msg = sslab.load(DIR .. '/no/such/ckpt.safetensors')
    lu.assertNil(t)
    lu.assertStrContains(msg, 'no/such/ckpt.safetensors')
end

function TestCheckpoint:test_malformed_file_raises_naming_it()
    local p = self.path('bad.safetensors')
    write_all(p, st_bytes('{"fc.weight":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}', string.rep('\0', 100)))
    local ok, err = pcall(sslab.load, p)
    lu.assertFalse(ok)
    lu.assertStrContains(err, p)
    lu.assertStrContains(err, "tensor 'fc.weight': data_offsets [0,100] but shape [5x6] float32 needs 120 bytes")
    write_all(p, 'abc')
    ok, err = pcall(sslab.load, p)
    lu.assertFalse(ok)
    lu.assertStrContains(err, 'shorter than the 8-byte header length')
    write_all(p, st_bytes('{"w":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}', 'xx'))
    ok, err = pcall(sslab.load, p)
    lu.assertStrContains(err, "unsupported dtype BF16 for tensor 'w'")
end

function TestCheckpoint:test_bad_arguments_name_the_key()
    local p = self.path('args.safetensors')
    local x = sslab.zeros(2)
    lu.assertErrorMsgContains("value for key 'b' is a number, expected sslab.Tensor", sslab.save, p, {a = x, b = 3})
    lu.assertErrorMsgContains('tensor names must be strings, got number key 1', sslab.save, p, {x})
    lu.assertErrorMsgContains("metadata value for key 'epoch' is a number, expected a string",
                              sslab.save, p, {a = x}, {epoch = 3})
    lu.assertErrorMsgContains('metadata keys must be strings', sslab.save, p, {a = x}, {'v'})
    lu.assertErrorMsgContains('table expected', sslab.save, p, x)
    lu.assertErrorMsgContains('table expected', sslab.save, p, {a = x}, 'meta')
    lu.assertErrorMsgContains("'__metadata__' is reserved", sslab.save, p, {__metadata__ = x})
    lu.assertNil(io.open(p, 'rb'))   -- nothing written
end

function TestCheckpoint:test_failed_save_raises_and_keeps_old_file()
    local p = self.path('keep.safetensors')
    sslab.save(p, {old = sslab.ones(3)})
    local before = read_all(p)
    lu.assertErrorMsgContains('cannot create temporary file', sslab.save, DIR .. '/no/such/dir/x.safetensors',
                              {a = sslab.zeros(1)})
    lu.assertEquals(read_all(p), before)
end

os.exit(lu.LuaUnit.run())
