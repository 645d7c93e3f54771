/* pty_drive.c - run a program in a pseudo-terminal and script a conversation with it.
 *
 * Used by tests/cli/test_repl_pty.sh to test the sslab REPL as a user sees it
 * (readline editing, TAB completion, Ctrl-C). Usage:
 *
 *   pty_drive program [args...] < script
 *
 * Script lines (text arguments take C escapes: \n \r \t \e \\ \xHH, so Ctrl-C
 * is \x03, Ctrl-D \x04, TAB \t):
 *   send TEXT       write TEXT to the terminal
 *   expect TEXT     wait until the output after the previous match contains TEXT
 *   reject TEXT     fail if the output after the previous match contains TEXT
 *   sleep MS        pause
 *   timeout S       seconds each expect may wait (default 10)
 *   exit CODE       wait for the program to end with status CODE
 *   # ...           comment (blank lines are skipped too)
 *
 * On failure it prints the step, and the whole transcript with control
 * characters made visible, and exits 1. The child is always killed and
 * reaped before the driver exits (also on SIGTERM/SIGALRM: the run is capped
 * at 60 s). PTY_DRIVE_VERBOSE=1 prints the transcript on success too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child = -1;
static int master = -1;
static char *out;          /* everything the program wrote */
static size_t out_len, out_cap;
static size_t matched;     /* expect searches from here */
static int child_done, child_status;

static void kill_child(void) {
  if (child > 0 && !child_done) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child_done = 1;
  }
}

static void on_fatal_signal(int sig) {
  if (child > 0 && !child_done) kill(child, SIGKILL);
  _exit(128 + sig);
}

static void dump(FILE *f) {
  fprintf(f, "---- transcript (%zu bytes) ----\n", out_len);
  for (size_t i = 0; i < out_len; i++) {
    unsigned char c = (unsigned char)out[i];
    if (c == '\n' || (c >= 32 && c < 127)) fputc(c, f);
    else if (c == '\r') fputs("\\r", f);
    else if (c == 27) fputs("\\e", f);
    else if (c == '\t') fputs("\\t", f);
    else fprintf(f, "\\x%02x", c);
  }
  fprintf(f, "\n---- end of transcript ----\n");
}

static void fail(int lineno, const char *fmt, const char *arg) {
  fprintf(stderr, "pty_drive: script line %d: ", lineno);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  dump(stderr);
  kill_child();
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Read what is available within ms milliseconds; 0 when the terminal closed. */
static int pump(int ms) {
  struct pollfd p = {.fd = master, .events = POLLIN};
  char buf[4096];
  int r = poll(&p, 1, ms);
  if (r <= 0) return r == 0 || errno == EINTR;
  ssize_t n = read(master, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR; /* EIO: the slave side is closed */
  if (out_len + (size_t)n + 1 > out_cap) {
    out_cap = (out_len + (size_t)n + 1) * 2;
    out = realloc(out, out_cap);
    if (!out) {
      perror("pty_drive: realloc");
      kill_child();
      exit(2);
    }
  }
  memcpy(out + out_len, buf, (size_t)n);
  out_len += (size_t)n;
  out[out_len] = '\0';
  return 1;
}

/* Decode C escapes of s in place; returns the length. */
static size_t unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r != '\\' || !r[1]) {
      *w++ = *r;
      continue;
    }
    r++;
    switch (*r) {
    case 'n': *w++ = '\n'; break;
    case 'r': *w++ = '\r'; break;
    case 't': *w++ = '\t'; break;
    case 'e': *w++ = 27; break;
    case 'x': {
      unsigned v = 0;
      int k;
      for (k = 0; k < 2 && r[1] && strchr("0123456789abcdefABCDEF", r[1]); k++, r++)
        v = v * 16 + (unsigned)(r[1] <= '9' ? r[1] - '0' : (r[1] | 32) - 'a' + 10);
      *w++ = (char)v;
      break;
    }
    default: *w++ = *r; break;
    }
  }
  *w = '\0';
  return (size_t)(w - s);
}

static void do_expect(int lineno, const char *text, size_t len, double timeout) {
  double end = now() + timeout;
  int open = 1;
  for (;;) {
    char *hit = out ? memmem(out + matched, out_len - matched, text, len) : NULL;
    if (hit) {
      matched = (size_t)(hit - out) + len;
      return;
    }
    double left = end - now();
    if (left <= 0 || !open) fail(lineno, "timeout waiting for \"%s\"", text);
    open = pump((int)(left * 1000) + 1);
  }
}

static void do_exit(int lineno, int code, double timeout) {
  double end = now() + timeout;
  while (!child_done) {
    pid_t r = waitpid(child, &child_status, WNOHANG);
    if (r == child) {
      child_done = 1;
      break;
    }
    if (now() > end) fail(lineno, "program did not exit (expected status %s)", "");
    if (!pump(20)) usleep(10000);
  }
  while (pump(0) > 0 && out_len < (1u << 24)) {
  }
  if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != code) {
    char msg[64];
    snprintf(msg, sizeof msg, "%d, got %s %d", code,
             WIFEXITED(child_status) ? "status" : "signal",
             WIFEXITED(child_status) ? WEXITSTATUS(child_status) : WTERMSIG(child_status));
    fail(lineno, "expected exit status %s", msg);
  }
}

int main(int argc, char **argv) {
  struct winsize ws = {.ws_row = 24, .ws_col = 80};
  char line[4096];
  int lineno = 0;
  double timeout = 10;
  if (argc < 2) {
    fprintf(stderr, "usage: pty_drive program [args...] < script\n");
    return 2;
  }
  signal(SIGTERM, on_fatal_signal);
  signal(SIGINT, on_fatal_signal);
  signal(SIGALRM, on_fatal_signal);
  signal(SIGPIPE, SIG_IGN);
  alarm(60);
  child = forkpty(&master, NULL, NULL, &ws);
  if (child < 0) {
    perror("pty_drive: forkpty");
    return 2;
  }
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[1], argv + 1);
    perror("pty_drive: exec");
    _exit(127);
  }
  while (fgets(line, sizeof line, stdin)) {
    char *cmd = line, *arg;
    size_t len;
    lineno++;
    line[strcspn(line, "\n")] = '\0';
    while (*cmd == ' ') cmd++;
    if (*cmd == '\0' || *cmd == '#') continue;
    arg = cmd + strcspn(cmd, " ");
    if (*arg) *arg++ = '\0';
    len = unescape(arg);
    if (strcmp(cmd, "send") == 0) {
      if (write(master, arg, len) != (ssize_t)len) fail(lineno, "write failed: %s", strerror(errno));
      pump(0);
    } else if (strcmp(cmd, "expect") == 0) {
      do_expect(lineno, arg, len, timeout);
    } else if (strcmp(cmd, "reject") == 0) {
      while (pump(50) > 0) {
      }
      if (out && memmem(out + matched, out_len - matched, arg, len))
        fail(lineno, "unexpected \"%s\" in the output", arg);
    } else if (strcmp(cmd, "sleep") == 0) {
      double end = now() + atoi(arg) / 1000.0;
      while (now() < end)
        if (!pump((int)((end - now()) * 1000) + 1)) usleep(10000);
    } else if (strcmp(cmd, "timeout") == 0) {
      timeout = atof(arg);
    } else if (strcmp(cmd, "exit") == 0) {
      do_exit(lineno, atoi(arg), timeout);
    } else
      fail(lineno, "unknown command \"%s\"", cmd);
  }
  if (getenv("PTY_DRIVE_VERBOSE")) dump(stdout);
  kill_child();
  free(out);
  return 0;
}
