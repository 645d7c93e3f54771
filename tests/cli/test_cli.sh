# test_cli.sh - the sslab program as a script runner: options, arg table, exit status.
#
#   bash test_cli.sh path/to/sslab      (ctest runs it from the build's tests dir)
#
# The REPL with a terminal is tested by test_repl_pty.sh; here the REPL only
# reads piped input (sslab -i < input).
set -u
SSLAB=${1:?usage: bash test_cli.sh path/to/sslab}
SSLAB=$(cd "$(dirname "$SSLAB")" && pwd)/$(basename "$SSLAB")
TESTDIR=${SSLAB_TEST_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
REPO=$(cd "$TESTDIR/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SSLAB_HISTORY="$tmp/history"
unset LUA_INIT LUA_INIT_5_4 SSLAB_PATH

fails=0
pass=0
# check NAME EXPECTED ACTUAL: ACTUAL must contain EXPECTED
check() {
  if [[ "$3" == *"$2"* ]]; then
    pass=$((pass + 1))
  else
    fails=$((fails + 1))
    printf 'FAIL %s\n  expected to contain: %s\n  got: %s\n' "$1" "$2" "$3"
  fi
}
# check_not NAME UNEXPECTED ACTUAL
check_not() {
  if [[ "$3" != *"$2"* ]]; then
    pass=$((pass + 1))
  else
    fails=$((fails + 1))
    printf 'FAIL %s\n  should not contain: %s\n  got: %s\n' "$1" "$2" "$3"
  fi
}
# run CMD...: sets out (stdout), err (stderr), rc
run() {
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}
# run_in INPUT CMD...: as run, with INPUT on stdin
run_in() {
  local input=$1
  shift
  printf '%s' "$input" | "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

# ---- -v, -e, -l, -E, -W -----------------------------------------------------
run "$SSLAB" -v
check "-v version" "sslab " "$out"
check "-v names Lua" "(Lua 5.4" "$out"
check "-v exit status" 0 "$rc"

run "$SSLAB" -e 'print(1 + 1)'
check "-e runs the chunk" 2 "$out"
run "$SSLAB" -e 'x = 20' -e 'print(x + 1)'
check "-e chunks run in order" 21 "$out"
run "$SSLAB" -e'print("joined")'
check "-echunk without a space" joined "$out"

cat >"$tmp/mymod.lua" <<'EOF'
return { answer = 42 }
EOF
run env SSLAB_PATH="$tmp" "$SSLAB" -l mymod -e 'print(mymod.answer)'
check "-l mod sets global mod (module found through SSLAB_PATH)" 42 "$out"
run env SSLAB_PATH="$tmp" "$SSLAB" -l m=mymod -e 'print(m.answer, mymod)'
check "-l g=mod sets global g" $'42\tnil' "$out"
run env SSLAB_PATH="$tmp/?.lua" "$SSLAB" -l mymod -e 'print(mymod.answer)'
check "SSLAB_PATH accepts templates" 42 "$out"
run env SSLAB_PATH="$tmp" "$SSLAB" -E -l mymod
check "-E ignores SSLAB_PATH" "module 'mymod' not found" "$err"
check "-E: failing -l exits 1" 1 "$rc"
run "$SSLAB" -l no_such_module_xyz
check "missing module message" "sslab: module 'no_such_module_xyz' not found" "$err"
check "missing module exit status" 1 "$rc"

run "$SSLAB" -W -e 'warn("careful")'
check "-W turns warnings on" "Lua warning: careful" "$err"
run "$SSLAB" -e 'warn("quiet")'
check_not "warnings off by default" "quiet" "$err"

# ---- the arg table and script arguments ---------------------------------------
cat >"$tmp/args.lua" <<'EOF'
print("n", #arg, select('#', ...))
for i = -3, #arg do print(i, arg[i]) end
print("dots", ...)
EOF
run "$SSLAB" -e 'x=1' "$tmp/args.lua" a "b c"
check "arg[-3] is the program" "-3	$SSLAB" "$out"
check "arg[-2]" "-2	-e" "$out"
check "arg[-1]" "-1	x=1" "$out"
check "arg[0] is the script" "0	$tmp/args.lua" "$out"
check "arg[1]" "1	a" "$out"
check "arg[2]" "2	b c" "$out"
check "#arg and ..." "n	2	2" "$out"
check "... holds the arguments" "dots	a	b c" "$out"

run "$SSLAB" -- "$tmp/args.lua" -e
check "-- ends options" "1	-e" "$out"
check "-- is in arg" "-1	--" "$out"

run "$SSLAB" -e 'print(arg[0], arg[1], #arg)' 
check "no script: arg[0] is the program" "$SSLAB	-e	2" "$out"

# ---- stdin: '-' and no script ------------------------------------------------
run_in 'print("from stdin", ...)' "$SSLAB" - x y
check "- runs stdin with arguments" "from stdin	x	y" "$out"
run_in 'print(6 * 7)' "$SSLAB"
check "stdin not a terminal: run as a script" 42 "$out"
check_not "stdin as script: no banner" "sslab " "$out"

# ---- errors: message, traceback, exit status -----------------------------------
cat >"$tmp/fail.lua" <<'EOF'
print("before")
local function inner() error("bad thing") end
local function outer() inner() end
outer()
print("after")
EOF
run "$SSLAB" "$tmp/fail.lua"
check "script error exit status" 1 "$rc"
check "output before the error" before "$out"
check_not "nothing after the error" after "$out"
check "error message with program name and position" "sslab: $tmp/fail.lua:2: bad thing" "$err"
check "traceback" "stack traceback:" "$err"
check "traceback names the function" "fail.lua:2: in upvalue 'inner'" "$err"
check "traceback names the caller" "fail.lua:3: in local 'outer'" "$err"

run "$SSLAB" -e 'error(setmetatable({}, {__tostring = function() return "custom object" end}))'
check "error object with __tostring" "sslab: custom object" "$err"
run "$SSLAB" -e 'error({})'
check "error object without __tostring" "(error object is a table value)" "$err"
run "$SSLAB" -e 'error("e")' -e 'print("not reached")'
check "-e failure stops" 1 "$rc"
check_not "-e failure: later -e not run" "not reached" "$out"
run "$SSLAB" -e 'x = = 1'
check "syntax error in -e" "sslab: (command line):1:" "$err"
check "syntax error exit status" 1 "$rc"
run "$SSLAB" "$tmp/does_not_exist.lua"
check "missing script" "cannot open $tmp/does_not_exist.lua" "$err"
check "missing script exit status" 1 "$rc"
run "$SSLAB" -X
check "bad option" "unrecognized option '-X'" "$err"
check "bad option prints usage" "usage: sslab [options] [script [args]]" "$err"
check "bad option exit status" 1 "$rc"
run "$SSLAB" -e
check "-e needs an argument" "'-e' needs argument" "$err"
run "$SSLAB" -e 'os.exit(3)'
check "os.exit status" 3 "$rc"

# ---- -i with piped input ---------------------------------------------------------
run_in $'1 + 1\nfor i = 1, 2 do\nprint(i * 100)\nend\nerror("boom")\n3 * 3\n{1, 2, x = "y"}\n"q"\n' \
  "$SSLAB" -i
check "-i prints the version" "sslab " "$out"
check "-i auto-prints expressions" $'> 2\n' "$out"
check "-i continuation prompt" ">> >> " "$out"
check "-i multi-line chunk runs" $'100\n200' "$out"
check "-i error message" "stdin:1: boom" "$err"
check "-i error traceback" "stack traceback:" "$err"
check "-i goes on after an error" $'> 9\n' "$out"
check "-i pretty-prints tables" '{1, 2, x = "y"}' "$out"
check "-i quotes strings" '"q"' "$out"
check "-i exit status after an error is 0" 0 "$rc"

run_in $'print(ran_script)\n' "$SSLAB" -i -e 'ran_script = "yes"'
check "-i after -e keeps its globals" yes "$out"
cat >"$tmp/setg.lua" <<'EOF'
from_script = 5
EOF
run_in $'from_script * 2\n' "$SSLAB" -i "$tmp/setg.lua"
check "-i after a script" 10 "$out"
run_in $'=1+2\n' "$SSLAB" -i
check "=expr as in Lua 5.2" 3 "$out"
run_in $'local t = {} for i = 1, 3 do t[i] = i end return t\n' "$SSLAB" -i
check "return of a local table" "{1, 2, 3}" "$out"
run_in $'for i = 1, 2 do\n' "$SSLAB" -i
check "end of input inside a chunk reports it" "'end' expected" "$err"

# ---- library path and the sslab module ---------------------------------------------
run "$SSLAB" -e 'print(package.path)'
check "package.path keeps the default entries" "./?.lua" "$out"
if [ -f "$(dirname "$SSLAB")/../lua/sslab/init.lua" ]; then
  # an in-tree build: lua/ is found next to the executable, from any directory
  prefix=$(cd "$(dirname "$SSLAB")/.." && pwd)
  cd "$tmp"
  run "$SSLAB" -e 'print(package.path)'
  check "lua/ next to the build dir comes first" "$prefix/lua/?.lua;$prefix/lua/?/init.lua;" "$out"
  run "$SSLAB" -e 'print(type(require("sslab.repl").format))'
  check "lua/ modules load from another directory" function "$out"
  cd - >/dev/null
else
  export SSLAB_PATH="$REPO/lua" # out-of-tree build: point at the sources
fi
run "$SSLAB" -e 'print(package.preload["sslab.core"] ~= nil)'
check "sslab.core is preloaded" true "$out"
if [ -f "$REPO/lua/sslab/init.lua" ]; then
  run_in $'type(sslab)\n' "$SSLAB" -i
  check "the REPL sets the global sslab" '"table"' "$out"
  check_not "no warning when sslab loads" "warning" "$err"
  run "$SSLAB" -e 'print(type(sslab))'
  check "-e chunks and scripts see the global sslab" table "$out"
  run "$SSLAB" -e "print(sslab.randn(3,4):matmul(sslab.randn(4,2)):shape()[2])"
  check "the issue's smoke command prints 2" 2 "$out"
else
  echo "note: lua/sslab/init.lua absent, global 'sslab' not tested"
fi

echo "test_cli: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
