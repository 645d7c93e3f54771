/* cli.h - what the files of the sslab program (repl/) share; not a library API.
 *
 *   main.c      options, Lua state set-up, module paths, running scripts ('pmain')
 *   repl.c      the interactive loop (read, try "return <line>", run, print)
 *   complete.c  readline tab completion of globals, fields and methods
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <lua.h>

#ifndef SSLAB_VERSION
#define SSLAB_VERSION "0.1.0"
#endif

/* Prefix of error messages ("sslab: ..."); NULL while the REPL runs. */
extern const char *sl_progname;

/* main.c: call the function below 'narg' arguments on the stack under
 * lua_pcall with a traceback handler and Ctrl-C armed (lua.c 'docall'). */
int sl_cli_docall(lua_State *L, int narg, int nres);
/* Print the error message on top of the stack (if status != LUA_OK), pop it. */
int sl_cli_report(lua_State *L, int status);
/* Write "pname: msg\n" (or just "msg\n" if pname is NULL) to stderr. */
void sl_cli_message(const char *pname, const char *msg);
void sl_cli_print_version(void);

/* repl.c: read-eval-print until end of input. */
void sl_repl_run(lua_State *L);

/* complete.c: install the readline completer (reads globals from L). */
void sl_complete_install(lua_State *L);

/* tune.c: re-execute once with OPENBLAS_CORETYPE set when OpenBLAS fell back to old kernels. */
void sl_tune_environment(char **argv);

#endif
