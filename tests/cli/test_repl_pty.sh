# test_repl_pty.sh - the sslab REPL on a terminal, driven through a pseudo-terminal.
#
#   bash test_repl_pty.sh path/to/sslab   (ctest runs it from the build's tests dir,
#                                          where pty_drive is built; or set PTY_DRIVE)
#
# Each session is a pty_drive script (see pty_drive.c): keystrokes out, expected
# screen text in. Results are matched with the line break before them ("\n42")
# so that the echo of the typed line cannot satisfy the check. Every send
# waits for the prompt first: keys typed while a chunk runs are typeahead and
# echo twice.
set -u
SSLAB=${1:?usage: bash test_repl_pty.sh path/to/sslab}
SSLAB=$(cd "$(dirname "$SSLAB")" && pwd)/$(basename "$SSLAB")
TESTDIR=${SSLAB_TEST_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
REPO=$(cd "$TESTDIR/.." && pwd)
DRIVE=${PTY_DRIVE:-}
for d in "$DRIVE" ./pty_drive "$(dirname "$SSLAB")/tests/pty_drive"; do
  if [ -n "$d" ] && [ -x "$d" ]; then DRIVE=$d; break; fi
done
if [ -z "$DRIVE" ] || [ ! -x "$DRIVE" ]; then
  echo "test_repl_pty: pty_drive not found (build the pty_drive target or set PTY_DRIVE)"
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SSLAB_HISTORY="$tmp/history" # never the real ~/.sslab_history
export INPUTRC=/dev/null TERM=dumb
unset LUA_INIT LUA_INIT_5_4
if [ ! -f "$(dirname "$SSLAB")/../lua/sslab/init.lua" ]; then
  export SSLAB_PATH="$REPO/lua" # out-of-tree build
fi

fails=0
# session NAME < script: run one pty_drive conversation
session() {
  if "$DRIVE" "$SSLAB" >"$tmp/drive.log" 2>&1; then
    echo "ok   $1"
  else
    fails=$((fails + 1))
    echo "FAIL $1"
    cat "$tmp/drive.log"
  fi
}

session "auto-print, completion, continuation, errors" <<'EOF'
timeout 10
expect sslab 
expect > 
send 1+1\r
expect \n2\r\n> 
send {1, 2, x = 'y', t = {z = true}}\r
expect \n{1, 2, t = {z = true}, x = "y"}\r\n> 
send "a\\tb"\r
expect \n"a\\tb"\r\n> 
# TAB: a global, a table field, a nested field, a method through __index
send myglobal_counter = 4242\r
expect \n> 
send myglobal_cou\t
expect myglobal_counter
send \r
expect \n4242\r\n> 
send tbl = {alpha_field = 777, nested = {deep_name = 'dn'}}\r
expect \n> 
send tbl.alpha_f\t\r
expect tbl.alpha_field
expect \n777\r\n> 
send tbl.nested.deep_\t\r
expect \n"dn"\r\n> 
send obj = setmetatable({}, {__index = {method_zz = function() return 'mz' end}})\r
expect \n> 
send obj:method_\t()\r
expect obj:method_zz()
expect \n"mz"\r\n> 
send str = 'abc'\r
expect \n> 
send str:upp\t()\r
expect \n"ABC"\r\n> 
# several candidates: TAB TAB lists them, by their last name
send tbl.\t\t
expect \nalpha_field  nested
send \x03
expect ^C\r\n> 
# continuation lines
send for i = 1, 2 do\r
expect \n>> 
send print(i * 100)\r
expect \n>> 
send end\r
expect \n100\r\n200\r\n> 
# an error prints a traceback, the session goes on
send error('boom')\r
expect stdin:1: boom
expect stack traceback:
expect \n> 
send 6*7\r
expect \n42\r\n> 
send \x04
exit 0
EOF

session "Ctrl-C: interrupt a loop, clear the line, abandon a chunk" <<'EOF'
timeout 10
expect > 
send print('spin' .. 'ning') while true do end\r
expect \nspinning\r\n
send \x03
expect interrupted!
expect stack traceback:
expect \n> 
send 5+5\r
expect \n10\r\n> 
send 123456
expect 123456
send \x03
expect ^C\r\n> 
send 7+1\r
expect \n8\r\n> 
send for i = 1, 3 do\r
expect \n>> 
send \x03
expect ^C\r\n> 
send 9+1\r
expect \n10\r\n> 
send print('count' .. 'ing') local n = 0 for i = 1, 1e12 do n = n + i end\r
expect \ncounting\r\n
send \x03
expect interrupted!
expect \n> 
send 'still' .. ' here'\r
expect \n"still here"\r\n> 
send \x04
exit 0
EOF

session "history is saved (SSLAB_HISTORY)" <<'EOF'
timeout 10
expect > 
send 'hist' .. 'ory'\r
expect \n"history"\r\n> 
send for i = 1, 1 do\r
expect \n>> 
send print('multi')\r
expect \n>> 
send end\r
expect \nmulti\r\n> 
send \x04
exit 0
EOF
hist=$(cat "$tmp/history" 2>/dev/null)
case "$hist" in
  *"'hist' .. 'ory'"*"for i = 1, 1 do print('multi') end"*) echo "ok   history file" ;;
  *) fails=$((fails + 1)); printf 'FAIL history file: got\n%s\n' "$hist" ;;
esac

session "history is read back (Ctrl-P recalls the last chunk)" <<'EOF'
timeout 10
expect > 
send \x10\r
expect \nmulti\r\n> 
send \x04
exit 0
EOF

if [ -f "$REPO/lua/sslab/init.lua" ]; then
  session "the global sslab and tensor methods" <<'EOF'
timeout 10
expect > 
send type(sslab)\r
expect \n"table"\r\n> 
send t = sslab.zeros(2, 3)\r
expect \n> 
send t:num\t()\r
expect t:numel()
expect \n6\r\n> 
send t\r
expect 2x3
expect \n> 
send \x04
exit 0
EOF
else
  echo "note: lua/sslab/init.lua absent, global 'sslab' not tested"
fi

echo "test_repl_pty: $fails failed"
[ "$fails" -eq 0 ]
