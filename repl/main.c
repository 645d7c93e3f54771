/* main.c - the sslab program: options, Lua state set-up, module paths, script running.
 *
 * Mirrors the standalone 'lua' interpreter (lua.c of Lua 5.4):
 *   sslab [options] [script [args]]
 *     -e chunk   run 'chunk'             -l mod / -l g=mod   g = require 'mod'
 *     -i         REPL after the script   -v                  print version
 *     -E         ignore environment      -W                  warnings on
 *     --         stop handling options   -                   run stdin, stop options
 * The global 'arg' is built as lua builds it (script at 0, interpreter options
 * at negative indices). All work, start-up included, runs under lua_pcall
 * ('pmain'); errors print their message and traceback on stderr and make the
 * exit status 1. On top of lua.c: 'sslab.core' (the statically linked C
 * binding) is preloaded and the Lua library dir next to the executable is
 * prepended to package.path (see 'setpath').
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cli.h"

/* The C binding, statically linked (runtime/bind/lua_module.c). */
int luaopen_sslab_core(lua_State *L);

const char *sl_progname = "sslab";

/*
** {==================================================================
** Errors, tracebacks and Ctrl-C (lua.c 'msghandler', 'docall', 'laction')
** ===================================================================
*/

static lua_State *globalL = NULL;

static void setsignal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

/* Hook set by 'laction': raise an error inside the running Lua code. */
static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

/* SIGINT while Lua code runs: make the next VM step call 'lstop'. A second
 * Ctrl-C before that (stuck in C code) gets the default action and ends the
 * program, as in lua. lua_sethook is safe to call from a signal handler. */
static void laction(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  setsignal(sig, SIG_DFL);
  lua_sethook(globalL, lstop, flag, 1);
}

void sl_cli_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

int sl_cli_report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    sl_cli_message(sl_progname, msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

/* Message handler: append a traceback; non-string errors use __tostring. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1; /* that is the message */
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int sl_cli_docall(lua_State *L, int narg, int nres) {
  int status;
  int base = lua_gettop(L) - narg; /* function index */
  struct sigaction old;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  sigaction(SIGINT, NULL, &old);
  setsignal(SIGINT, laction);
  status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL); /* the REPL's handler, or the default */
  if (lua_gethook(L) == lstop) lua_sethook(L, NULL, 0, 0); /* Ctrl-C came too late */
  lua_remove(L, base);
  return status;
}

/* }================================================================== */

void sl_cli_print_version(void) {
  printf("sslab %s (%s)\n", SSLAB_VERSION, LUA_RELEASE);
  fflush(stdout);
}

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", sl_progname);
  if (badoption[1] == 'e' || badoption[1] == 'l')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e chunk  execute string 'chunk'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -l g=mod  require library 'mod' into global 'g'\n"
          "  -v        show version information\n"
          "  -E        ignore environment variables (LUA_PATH, SSLAB_PATH, ...)\n"
          "  -W        turn warnings on\n"
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n",
          sl_progname);
  fflush(stderr);
}

/*
** {==================================================================
** Module paths: preload 'sslab.core', find lua/ next to the executable
** ===================================================================
*/

static int file_exists(const char *path) { return access(path, R_OK) == 0; }

/* Parent of the directory of the running executable ("/usr" for /usr/bin/sslab,
 * the build tree's parent for build/sslab); "" if unknown. */
static void exe_prefix(char *buf, size_t n) {
  ssize_t len = readlink("/proc/self/exe", buf, n - 1);
  if (len <= 0) {
    buf[0] = '\0';
    return;
  }
  buf[len] = '\0';
  for (int k = 0; k < 2; k++) { /* drop "/sslab", then "/bin" */
    char *slash = strrchr(buf, '/');
    if (slash) *slash = '\0';
    else buf[0] = '\0';
  }
}

/* Push "<d>/?.lua;<d>/?/init.lua" for each ';'-separated entry d of 'list';
 * entries containing '?' are templates already and are kept as they are. */
static void push_templates(lua_State *L, const char *list) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*list) {
    size_t len = strcspn(list, ";");
    if (len > 0) {
      if (luaL_bufflen(&b) > 0) luaL_addchar(&b, ';');
      if (memchr(list, '?', len)) luaL_addlstring(&b, list, len);
      else {
        luaL_addlstring(&b, list, len);
        luaL_addstring(&b, "/?.lua;");
        luaL_addlstring(&b, list, len);
        luaL_addstring(&b, "/?/init.lua");
      }
    }
    list += len;
    if (*list == ';') list++;
  }
  luaL_pushresult(&b);
}

/* package.path = [SSLAB_PATH;] <libdir>/?.lua;<libdir>/?/init.lua; <old path>
 * where libdir is <exe_dir>/../lua in a build tree (it holds sslab/init.lua),
 * else the installed <exe_dir>/../share/sslab/lua. */
static void setpath(lua_State *L, int noenv) {
  char dir[PATH_MAX], libdir[PATH_MAX + 32], probe[PATH_MAX + 64];
  const char *env = noenv ? NULL : getenv("SSLAB_PATH");
  int n = 0;
  exe_prefix(dir, sizeof dir);
  if (dir[0]) {
    snprintf(libdir, sizeof libdir, "%s/lua", dir);
    snprintf(probe, sizeof probe, "%s/sslab/init.lua", libdir);
    if (!file_exists(probe)) snprintf(libdir, sizeof libdir, "%s/share/sslab/lua", dir);
  }
  if (env && *env) {
    push_templates(L, env);
    if (lua_rawlen(L, -1) > 0) {
      lua_pushliteral(L, ";");
      n += 2;
    } else
      lua_pop(L, 1); /* only separators */
  }
  if (dir[0]) {
    push_templates(L, libdir);
    lua_pushliteral(L, ";");
    n += 2;
  }
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  lua_remove(L, -2);
  lua_concat(L, n + 1);
  lua_getglobal(L, "package");
  lua_insert(L, -2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

static void preload_core(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_sslab_core);
  lua_setfield(L, -2, "sslab.core");
  lua_pop(L, 1);
}

/* }================================================================== */

/*
** {==================================================================
** Running options and scripts (lua.c 'collectargs', 'runargs', 'pmain')
** ===================================================================
*/

#define has_error 1 /* bad option */
#define has_i 2     /* -i */
#define has_v 4     /* -v */
#define has_e 8     /* -e */
#define has_E 16    /* -E */

/* Scan the options; *first = index of the script name (0 if none). */
static int collectargs(char **argv, int *first) {
  int args = 0;
  int i;
  *first = 0;
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args; /* not an option: the script */
    switch (argv[i][1]) {
    case '-': /* '--' */
      if (argv[i][2] != '\0') return has_error;
      *first = argv[i + 1] ? i + 1 : 0;
      return args;
    case '\0': /* '-': the script is stdin */
      return args;
    case 'E':
      if (argv[i][2] != '\0') return has_error;
      args |= has_E;
      break;
    case 'W':
      if (argv[i][2] != '\0') return has_error;
      break;
    case 'i':
      args |= has_i; /* -i implies -v */
      /* FALLTHROUGH */
    case 'v':
      if (argv[i][2] != '\0') return has_error;
      args |= has_v;
      break;
    case 'e':
      args |= has_e;
      /* FALLTHROUGH */
    case 'l': /* both need an argument */
      if (argv[i][2] == '\0') {
        i++;
        if (argv[i] == NULL || argv[i][0] == '-') return has_error;
      }
      break;
    default:
      return has_error;
    }
  }
  *first = 0;
  return args;
}

/* arg = { [-k..-1] = interpreter and options, [0] = script, [1..] = args };
 * without a script, arg[0] is the program name. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  int i;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = sl_cli_docall(L, 0, 0);
  return sl_cli_report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod (global mod, minus any "-suffix") or -l g=mod */
static int dolibrary(lua_State *L, char *globname) {
  int status;
  char *suffix = NULL;
  char *modname = strchr(globname, '=');
  if (modname == NULL) {
    modname = globname;
    suffix = strchr(modname, '-'); /* LUA_IGMARK: "mod-v2" sets global "mod" */
  } else {
    *modname = '\0';
    modname++;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  status = sl_cli_docall(L, 1, 1);
  if (status == LUA_OK) {
    if (suffix != NULL) *suffix = '\0';
    lua_setglobal(L, globname);
  }
  return sl_cli_report(L, status);
}

/* Push arg[1..n] for the main chunk of the script. */
static int pushargs(lua_State *L) {
  int i, n;
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  int status;
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = sl_cli_docall(L, n, LUA_MULTRET);
  }
  return sl_cli_report(L, status);
}

/* Run -e and -l in order (and -W); argv[1..n-1] are all options. */
static int runargs(lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
    case 'e':
    case 'l': {
      int status;
      char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      status = (option == 'e') ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
      if (status != LUA_OK) return 0;
      break;
    }
    case 'W':
      lua_warning(L, "@on", 0);
      break;
    }
  }
  return 1;
}

/* Set the global 'sslab' = require 'sslab' for every chunk, as the REPL and
 * recipes expect. A failure is silent here: a script that needs the module
 * gets require's own message; the REPL warns on its own. */
static void preload_global(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "sslab");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) lua_setglobal(L, "sslab");
  else lua_pop(L, 1);
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args = collectargs(argv, &script);
  int optlim = (script > 0) ? script : argc;
  luaL_checkversion(L);
  if (args == has_error) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & has_v) sl_cli_print_version();
  if (args & has_E) { /* the package library then ignores LUA_PATH etc. */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  preload_core(L);
  setpath(L, args & has_E);
  createargtable(L, argv, argc, script);
  preload_global(L);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!runargs(L, argv, optlim)) return 0;
  if (script > 0 && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i) sl_repl_run(L);
  else if (script < 1 && !(args & (has_e | has_v))) {
    if (isatty(STDIN_FILENO)) {
      sl_cli_print_version();
      sl_repl_run(L);
    } else if (dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK)
      return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* }================================================================== */

int main(int argc, char **argv) {
  int status, result;
  sl_tune_environment(argv);
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    sl_cli_message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* no GC while building the state */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  result = lua_toboolean(L, -1);
  sl_cli_report(L, status);
  lua_close(L);
  fflush(stdout);
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
