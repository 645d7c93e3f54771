-- Recipe options: defaults, overrides, presets, help, errors; JSON encoding; progress lines.
local lu = require 'luaunit'
local options = require 'sslab.options'
local json = require 'sslab.json'
local progress = require 'sslab.progress'

local specs = {
  {'epochs', 10, 'training epochs'},
  {'lr', 0.06, 'learning rate'},
  {'head', 'mlp', 'projection head', choices = {'none', 'mlp', 'fixed'}},
  {'blur', true, 'Gaussian blur'},
  {'crop_min', 0.2, 'smallest crop area'},
}
local info = {name = 'demo', presets = {small = {epochs = 2, lr = 0.1}}}

function test_defaults()
  local cfg = options.parse({}, specs, info)
  lu.assertEquals(cfg.epochs, 10)
  lu.assertEquals(cfg.head, 'mlp')
  lu.assertTrue(cfg.blur)
end

function test_overrides_and_types()
  local cfg, explicit = options.parse({'--epochs', '3', '--lr=0.5', '--blur', 'off', '--head', 'none',
                                       '--crop-min', '0.08'}, specs, info)
  lu.assertEquals(cfg.epochs, 3)
  lu.assertEquals(math.type(cfg.epochs), 'integer')
  lu.assertEquals(cfg.lr, 0.5)
  lu.assertFalse(cfg.blur)
  lu.assertEquals(cfg.head, 'none')
  lu.assertEquals(cfg.crop_min, 0.08)
  lu.assertTrue(explicit.epochs)
  lu.assertNil(explicit.lr_missing)
end

function test_flag_without_value()
  local cfg = options.parse({'--blur'}, specs, info)
  lu.assertTrue(cfg.blur)
end

function test_preset_then_explicit()
  local cfg = options.parse({'--lr', '0.2', '--preset', 'small'}, specs, info)
  lu.assertEquals(cfg.epochs, 2)  -- from the preset
  lu.assertEquals(cfg.lr, 0.2)    -- explicit wins over the preset
  lu.assertEquals(cfg.preset, 'small')
end

function test_errors()
  lu.assertErrorMsgContains('unknown option --epoch; known options: --epochs --lr --head --blur --crop_min',
    options.parse, {'--epoch', '3'}, specs, info)
  lu.assertErrorMsgContains("option --epochs: expected an integer, got 'x'", options.parse, {'--epochs', 'x'}, specs, info)
  lu.assertErrorMsgContains("option --head: 'wide' is not one of none, mlp, fixed",
    options.parse, {'--head', 'wide'}, specs, info)
  lu.assertErrorMsgContains("unknown preset 'huge'; presets: small", options.parse, {'--preset', 'huge'}, specs, info)
  lu.assertErrorMsgContains('option --lr needs a value', options.parse, {'--lr'}, specs, info)
  lu.assertErrorMsgContains("unexpected argument 'foo'", options.parse, {'foo'}, specs, info)
end

function test_help_lists_every_option()
  local text = options.help(specs, info)
  for _, s in ipairs(specs) do lu.assertStrContains(text, '--' .. s[1]) end
  lu.assertStrContains(text, 'training epochs')
  lu.assertStrContains(text, '(none|mlp|fixed)')
  lu.assertStrContains(text, '--preset')
end

function test_format()
  lu.assertEquals(options.format({b = true, a = 1}), '  a    = 1\n  b    = on')
end

function test_json()
  lu.assertEquals(json.encode({epoch = 1, loss = 0.5, name = 'a"b', list = {1, 2}, ok = false}),
    '{"epoch":1,"list":[1,2],"loss":0.5,"name":"a\\"b","ok":false}')
  lu.assertEquals(json.encode(0 / 0), 'null')
  lu.assertEquals(json.encode('\n'), '"\\n"')
end

function test_progress_plain_lines()
  local lines = {}
  local out = {write = function(_, ...) for _, s in ipairs({...}) do lines[#lines + 1] = s end end, flush = function() end}
  local bar = progress.new{total = 20, label = 'epoch 1/2', out = out, tty = false, every = 10}
  for step = 1, 20 do bar:update(step, {loss = 1 / step}) end
  bar:finish({loss = 0.05})
  local text = table.concat(lines)
  lu.assertStrContains(text, 'epoch 1/2 10/20 ( 50%)  loss 0.1  ETA')
  lu.assertStrContains(text, 'epoch 1/2 20/20 (100%)  loss 0.05')
  lu.assertStrContains(text, 'elapsed')
  lu.assertEquals(progress.format_time(3725), '1:02:05')
end

os.exit(lu.LuaUnit.run())
