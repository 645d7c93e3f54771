/* repl.c - the interactive loop of the sslab program (lua.c 'doREPL' with GNU readline).
 *
 * Each input is first compiled as "return <line>" so expressions print their
 * value ('addreturn'); otherwise as a statement, asking for more lines (">>")
 * while the compiler stops at '<eof>' ('incomplete'). Chunks run under
 * lua_pcall with a traceback handler (sl_cli_docall, which also arms Ctrl-C);
 * results are printed by print() of lua/sslab/repl.lua (pretty tables,
 * quoted strings, __tostring for tensors), falling back to the global print.
 *
 * On a terminal, lines are read with readline's callback interface so that
 * Ctrl-C at the prompt only clears the line (or abandons a multi-line chunk);
 * history lives in ~/.sslab_history or $SSLAB_HISTORY (empty: none). When
 * stdin is not a terminal (sslab -i < file) lines are read with getline and
 * prompts still go to stdout, as in lua without readline.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "cli.h"

#define HISTORY_MAX 1000       /* entries kept in memory and in the file */
#define PRINTER_KEY "sslab.repl" /* registry: the pretty-printer module */
#define READ_EOF (-1)          /* loadline: no more input */
#define READ_CANCEL (-2)       /* loadline: Ctrl-C abandoned the input */

static int use_readline; /* stdin is a terminal */

/*
** {==================================================================
** History
** ===================================================================
*/

static char history_file[PATH_MAX];
static int history_writable;
static char *history_last; /* last entry added, to skip repeats */

static void history_open(void) {
  const char *env = getenv("SSLAB_HISTORY");
  const char *home = getenv("HOME");
  int fd;
  history_file[0] = '\0';
  if (env) {
    if (*env == '\0') return; /* SSLAB_HISTORY= disables history */
    snprintf(history_file, sizeof history_file, "%s", env);
  } else if (home && *home)
    snprintf(history_file, sizeof history_file, "%s/.sslab_history", home);
  else
    return;
  stifle_history(HISTORY_MAX);
  read_history(history_file); /* a missing file is fine */
  fd = open(history_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
  history_writable = fd >= 0;
  if (fd >= 0) close(fd);
}

/* Keep one entry per chunk: a multi-line chunk is joined with spaces unless
 * that could change its meaning ('--' comments, long strings); then each line
 * becomes its own entry. */
static void history_save(const char *chunk) {
  if (!use_readline || chunk[0] == '\0') return;
  if (history_last && strcmp(history_last, chunk) == 0) return;
  free(history_last);
  history_last = strdup(chunk);
  if (strchr(chunk, '\n') && (strstr(chunk, "--") || strstr(chunk, "[[") || strstr(chunk, "[="))) {
    char *copy = strdup(chunk), *save = NULL;
    int n = 0;
    if (!copy) return;
    for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save), n++)
      add_history(ln);
    free(copy);
    if (history_writable) append_history(n, history_file);
    return;
  }
  char *flat = strdup(chunk);
  if (!flat) return;
  for (char *p = flat; *p; p++)
    if (*p == '\n') *p = ' ';
  add_history(flat);
  free(flat);
  if (history_writable) append_history(1, history_file);
}

static void history_close(void) {
  if (history_writable) history_truncate_file(history_file, HISTORY_MAX);
  free(history_last);
  history_last = NULL;
}

/* }================================================================== */

/*
** {==================================================================
** Reading one line
** ===================================================================
*/

/* Ctrl-C at the prompt. The handler may run on any thread (OpenBLAS and
 * OpenMP workers exist), so it wakes the main thread through a pipe
 * ("self-pipe") rather than by interrupting its select(). */
static int sigint_pipe[2] = {-1, -1};
static char *rl_line;
static int rl_line_done;

static void on_prompt_sigint(int sig) {
  int saved = errno;
  (void)sig;
  if (sigint_pipe[1] >= 0 && write(sigint_pipe[1], "", 1) < 0) {
    /* pipe full: a wake-up is pending anyway */
  }
  errno = saved;
}

/* Empty the pipe; 1 if Ctrl-C was pressed since the last call. */
static int take_sigint(void) {
  char buf[64];
  int got = 0;
  while (sigint_pipe[0] >= 0 && read(sigint_pipe[0], buf, sizeof buf) > 0) got = 1;
  return got;
}

static void on_line(char *line) {
  rl_line = line;
  rl_line_done = 1;
  rl_callback_handler_remove();
}

/* readline on a terminal. Ctrl-C (on_prompt_sigint, installed by sl_repl_run)
 * clears the line: return NULL with *cancel = 1. */
static char *read_terminal(const char *prompt, int *cancel) {
  int fd = fileno(rl_instream ? rl_instream : stdin);
  FILE *o = rl_outstream ? rl_outstream : stdout;
  int nfds = (fd > sigint_pipe[0] ? fd : sigint_pipe[0]) + 1;
  take_sigint(); /* Ctrl-C between chunks is dropped */
  rl_line = NULL;
  rl_line_done = 0;
  rl_callback_handler_install(prompt, on_line);
  while (!rl_line_done) {
    fd_set fds;
    int r;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    if (sigint_pipe[0] >= 0) FD_SET(sigint_pipe[0], &fds);
    r = select(nfds, &fds, NULL, NULL, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      rl_callback_handler_remove(); /* cannot read: treat as end of input */
      break;
    }
    if (sigint_pipe[0] >= 0 && FD_ISSET(sigint_pipe[0], &fds) && take_sigint()) {
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_point = rl_end;
      rl_redisplay();
      rl_callback_handler_remove();
      fputs("^C\n", o);
      fflush(o);
      *cancel = 1;
      break;
    }
    if (FD_ISSET(fd, &fds)) rl_callback_read_char();
  }
  return rl_line;
}

/* Not a terminal: prompt on stdout, line from stdin (no '\n'). */
static char *read_plain(const char *prompt) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  fputs(prompt, stdout);
  fflush(stdout);
  len = getline(&line, &cap, stdin);
  if (len < 0) {
    free(line);
    return NULL;
  }
  if (len > 0 && line[len - 1] == '\n') line[len - 1] = '\0';
  return line;
}

static const char *get_prompt(lua_State *L, int firstline) {
  const char *p;
  lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2");
  p = lua_tostring(L, -1);
  if (p == NULL) p = firstline ? "> " : ">> ";
  lua_pop(L, 1); /* a global string stays alive while we use it */
  return p;
}

/* Push the next line; 1 on success, READ_EOF or READ_CANCEL otherwise. */
static int pushline(lua_State *L, int firstline) {
  const char *prompt = get_prompt(L, firstline);
  int cancel = 0;
  char *line = use_readline ? read_terminal(prompt, &cancel) : read_plain(prompt);
  if (line == NULL) return cancel ? READ_CANCEL : READ_EOF;
  if (firstline && line[0] == '=') /* "=expr", as in Lua 5.1 and 5.2 */
    lua_pushfstring(L, "return %s", line + 1);
  else
    lua_pushstring(L, line);
  free(line);
  return 1;
}

/* }================================================================== */

/*
** {==================================================================
** Compiling input (lua.c 'addreturn', 'incomplete', 'multiline')
** ===================================================================
*/

/* Is the syntax error on top of the stack an unexpected end of input? */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *mark = "<eof>";
    size_t lmark = strlen(mark);
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, mark) == 0) return 1;
  }
  return 0;
}

/* Line at index 1: try "return <line>;". On success the function replaces
 * nothing but sits on top; on failure the stack is as before. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, 1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2); /* the modified line */
    history_save(line);
  } else
    lua_pop(L, 2); /* error message and modified line */
  return status;
}

/* Compile the text at index 1 as a statement, reading continuation lines
 * while it is incomplete. Leaves the function or the error message on top. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *text = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, text, len, "=stdin");
    int more;
    if (!incomplete(L, status)) {
      history_save(text);
      return status;
    }
    more = pushline(L, 0);
    if (more == READ_CANCEL) {
      history_save(text);
      return READ_CANCEL;
    }
    if (more == READ_EOF) {
      history_save(text);
      return status; /* report the '<eof>' error */
    }
    lua_remove(L, -2); /* error message */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3); /* text .. "\n" .. line, now alone at index 1 */
  }
}

/* Read and compile one chunk; leaves exactly the function (LUA_OK) or the
 * error message on the stack. Returns READ_EOF at the end of input. */
static int loadline(lua_State *L) {
  for (;;) {
    int status;
    lua_settop(L, 0);
    status = pushline(L, 1);
    if (status == READ_EOF) return READ_EOF;
    if (status == READ_CANCEL) continue;
    if ((status = addreturn(L)) != LUA_OK) status = multiline(L);
    if (status == READ_CANCEL) continue;
    lua_remove(L, 1); /* the line */
    return status;
  }
}

/* }================================================================== */

/* Print the values on the stack with the printer module (or 'print'). */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  if (lua_getfield(L, LUA_REGISTRYINDEX, PRINTER_KEY) == LUA_TTABLE &&
      lua_getfield(L, -1, "print") == LUA_TFUNCTION)
    lua_remove(L, -2);
  else {
    lua_settop(L, n);
    lua_getglobal(L, "print");
  }
  lua_insert(L, 1);
  if (sl_cli_docall(L, n, 0) != LUA_OK)
    sl_cli_message(sl_progname, lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
  lua_settop(L, 0);
}

/* Print the first line of the error message on top as a warning; pop it. */
static void warn_first_line(lua_State *L, const char *what) {
  const char *msg = lua_tostring(L, -1);
  size_t n = msg ? strcspn(msg, "\n") : 0;
  if (n > 0 && msg[n - 1] == ':') n--; /* "module 'x' not found:" */
  fprintf(stderr, "sslab: warning: %s: %.*s\n", what, (int)n, msg ? msg : "?");
  fflush(stderr);
  lua_pop(L, 1);
}

/* require 'sslab.repl' (the printer) and set the global 'sslab'. */
static void load_helpers(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "sslab.repl");
  if (sl_cli_docall(L, 1, 1) == LUA_OK)
    lua_setfield(L, LUA_REGISTRYINDEX, PRINTER_KEY);
  else
    warn_first_line(L, "pretty printer 'sslab.repl' not loaded");
  if (lua_getglobal(L, "sslab") != LUA_TNIL) { /* already there (-l sslab, script) */
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "sslab");
  if (sl_cli_docall(L, 1, 1) == LUA_OK)
    lua_setglobal(L, "sslab");
  else
    warn_first_line(L, "global 'sslab' not set");
}

void sl_repl_run(lua_State *L) {
  int status;
  const char *oldprogname = sl_progname;
  struct sigaction sa, oldsa;
  sl_progname = NULL; /* no "sslab:" prefix on errors in interactive mode */
  use_readline = isatty(STDIN_FILENO);
  if (use_readline) {
    if (pipe2(sigint_pipe, O_NONBLOCK | O_CLOEXEC) != 0) sigint_pipe[0] = sigint_pipe[1] = -1;
    sa.sa_handler = on_prompt_sigint; /* Ctrl-C between chunks: ignored */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldsa);
    rl_readline_name = "sslab"; /* for $if sslab in ~/.inputrc */
    rl_catch_signals = 0;      /* SIGINT is ours (read_terminal) */
    sl_complete_install(L);
    history_open();
  }
  lua_settop(L, 0);
  load_helpers(L);
  while ((status = loadline(L)) != READ_EOF) {
    if (status == LUA_OK) status = sl_cli_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else sl_cli_report(L, status);
    lua_settop(L, 0);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  if (use_readline) {
    history_close();
    sigaction(SIGINT, &oldsa, NULL);
    if (sigint_pipe[0] >= 0) {
      close(sigint_pipe[0]);
      close(sigint_pipe[1]);
      sigint_pipe[0] = sigint_pipe[1] = -1;
    }
  }
  sl_progname = oldprogname;
}
