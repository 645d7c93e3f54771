/* complete.c - tab completion for the sslab REPL (GNU readline).
 *
 * Completes the word before the cursor, read as a dotted path:
 *   pri<TAB>        globals and Lua keywords
 *   sslab.ra<TAB>   fields of a table, at any depth (a.b.c<TAB>)
 *   t:ma<TAB>       methods: function fields of the value or of its
 *                   metatable's __index table (tensors, strings, objects)
 * Lookups are raw (lua_rawget, lua_next) and follow __index only when it is a
 * table (or, when __index is a function, the metatable's 'methods' table), so
 * completing never runs Lua code. Inside a string literal readline
 * completes file names instead.
 */
#include <stdlib.h>
#include <string.h>

#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "cli.h"

#define MAX_INDEX_DEPTH 8 /* __index chains followed at most this deep */

static lua_State *complete_L;
static char **cands; /* candidates of the current completion */
static size_t ncands;

static const char *const keywords[] = {"and",   "break", "do",     "else", "elseif", "end",
                                       "false", "for",   "function", "goto", "if",    "in",
                                       "local", "nil",   "not",    "or",   "repeat", "return",
                                       "then",  "true",  "until",  "while", NULL};

static int is_identifier(const char *s, size_t len) {
  size_t i;
  if (len == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (i = 1; i < len; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return 0;
  }
  for (i = 0; keywords[i]; i++)
    if (strlen(keywords[i]) == len && memcmp(keywords[i], s, len) == 0) return 0;
  return 1;
}

/* Push the table where the value at idx finds its methods: its metatable's
 * __index if that is a table, else the metatable's field 'methods' (how a
 * binding whose __index is a function, like sslab.Tensor's, lists them).
 * Returns 1, or 0 with nothing pushed. */
static int push_index_table(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_pushliteral(L, "__index");
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushliteral(L, "methods");
    if (lua_rawget(L, -2) != LUA_TTABLE) {
      lua_pop(L, 2);
      return 0;
    }
  }
  lua_remove(L, -2);
  return 1;
}

/* Push v[key] for v at idx: raw field, else through __index tables. */
static void push_field(lua_State *L, int idx, const char *key, size_t len) {
  int depth;
  lua_pushvalue(L, idx);
  for (depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushlstring(L, key, len);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (!push_index_table(L, -1)) break;
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* Is the value on top callable (a function, or has __call)? */
static int is_callable(lua_State *L) {
  int r;
  if (lua_type(L, -1) == LUA_TFUNCTION) return 1;
  r = luaL_getmetafield(L, -1, "__call") != LUA_TNIL;
  if (r) lua_pop(L, 1);
  return r;
}

/* Add to the set at 'set' the identifier keys of the value at idx (and of its
 * __index tables) that start with 'prefix'. */
static void collect(lua_State *L, int idx, int set, const char *prefix, size_t plen, int methods) {
  int depth;
  lua_pushvalue(L, idx);
  for (depth = 0; depth < MAX_INDEX_DEPTH; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        size_t klen;
        const char *k;
        if (lua_type(L, -2) == LUA_TSTRING && (k = lua_tolstring(L, -2, &klen)) &&
            klen >= plen && memcmp(k, prefix, plen) == 0 && is_identifier(k, klen) &&
            (!methods || is_callable(L))) {
          lua_pushvalue(L, -2);
          lua_pushboolean(L, 1);
          lua_rawset(L, set);
        }
        lua_pop(L, 1);
      }
    }
    if (!push_index_table(L, -1)) break;
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

/* Protected body: args (text); returns an array of completions. */
static int complete_body(lua_State *L) {
  size_t len, plen, head;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *sep = NULL, *p, *seg;
  int set, methods = 0, i;
  for (p = text; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  lua_newtable(L);
  set = lua_gettop(L);
  lua_pushglobaltable(L); /* the value being walked */
  if (sep == NULL) {
    collect(L, -1, set, text, len, 0);
    for (i = 0; keywords[i]; i++)
      if (strncmp(keywords[i], text, len) == 0) {
        lua_pushboolean(L, 1);
        lua_setfield(L, set, keywords[i]);
      }
    head = 0;
  } else {
    if (*sep == ':') {
      methods = 1;
      if (memchr(text, ':', (size_t)(sep - text))) return 0; /* "a:b:c" */
    }
    for (seg = text; seg < sep;) { /* walk a.b.c up to the last separator */
      size_t slen = strcspn(seg, ".:");
      if (!is_identifier(seg, slen)) return 0;
      push_field(L, -1, seg, slen);
      lua_remove(L, -2);
      if (lua_isnil(L, -1)) return 0;
      seg += slen + 1;
    }
    plen = len - (size_t)(sep + 1 - text);
    collect(L, -1, set, sep + 1, plen, methods);
    head = (size_t)(sep + 1 - text);
  }
  /* array of "<head><name>", sorted */
  lua_newtable(L);
  i = 0;
  lua_pushnil(L);
  while (lua_next(L, set)) {
    lua_pop(L, 1);
    lua_pushlstring(L, text, head);
    lua_pushvalue(L, -2);
    lua_concat(L, 2);
    lua_rawseti(L, -3, ++i);
  }
  return 1;
}

static void free_cands(void) {
  size_t i;
  for (i = 0; i < ncands; i++) free(cands[i]);
  free(cands);
  cands = NULL;
  ncands = 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void find_cands(const char *text) {
  lua_State *L = complete_L;
  int top = lua_gettop(L);
  free_cands();
  lua_pushcfunction(L, complete_body);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) {
    size_t i, n = (size_t)lua_rawlen(L, -1);
    cands = n ? malloc(n * sizeof *cands) : NULL;
    for (i = 0; cands && i < n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i + 1);
      cands[ncands] = strdup(lua_tostring(L, -1));
      if (cands[ncands]) ncands++;
      lua_pop(L, 1);
    }
    if (ncands > 1) qsort(cands, ncands, sizeof *cands, cmp_str);
  }
  lua_settop(L, top);
}

/* readline generator: the candidates one by one (readline frees them). */
static char *generator(const char *text, int state) {
  static size_t next;
  (void)text;
  if (state == 0) next = 0;
  return next < ncands ? strdup(cands[next++]) : NULL;
}

/* List candidates by their last name only ("randn", not "sslab.randn"). */
static void display(char **matches, int n, int max_length) {
  char **shown = malloc((size_t)(n + 2) * sizeof *shown);
  int i, longest = 0;
  (void)max_length;
  if (!shown) {
    rl_display_match_list(matches, n, max_length);
    rl_forced_update_display();
    return;
  }
  for (i = 0; i <= n; i++) {
    const char *m = matches[i], *p = m + strlen(m);
    while (p > m && p[-1] != '.' && p[-1] != ':') p--;
    shown[i] = (char *)p;
    if (i > 0 && (int)strlen(p) > longest) longest = (int)strlen(p);
  }
  shown[n + 1] = NULL;
  rl_display_match_list(shown, n, longest);
  rl_forced_update_display();
  free(shown);
}

static char **attempt(const char *text, int start, int end) {
  (void)start;
  (void)end;
  if (rl_completion_quote_character) return NULL; /* in a string: file names */
  rl_attempted_completion_over = 1;              /* no file names otherwise */
  rl_completion_append_character = '\0';
  find_cands(text);
  return rl_completion_matches(text, generator);
}

void sl_complete_install(lua_State *L) {
  complete_L = L;
  rl_attempted_completion_function = attempt;
  rl_completion_display_matches_hook = display;
  rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
  rl_completer_quote_characters = "\"'";
}
