/* bind.h - helpers shared by the Lua binding files (runtime/bind/lua_*.c).
 *
 * Only files in runtime/bind/ include lua.h. Each area has one binding file
 * exporting `void sl_bind_<area>(lua_State *L)`, which adds its functions to
 * the module table on top of the stack (see lua_module.c, which calls them).
 *
 * Rules every binding follows:
 *  - errors: C functions return SL_ERR with a message (core/error.h);
 *    sl_lua_check(L, status) raises it as a Lua error. This is the one place
 *    a C error becomes a Lua error.
 *  - push before fill: sl_lua_new_tensor_slot() pushes a userdata holding
 *    NULL first, then the caller stores the tensor it creates into the slot,
 *    so a Lua error at any point cannot leak it (__gc frees it).
 *  - 1-based dims and indices at the Lua surface, converted here only.
 */
#ifndef SL_BIND_H
#define SL_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "tensor/tensor.h"

#define SL_TENSOR_MT "sslab.Tensor"

/* Raise the current sl_last_error() as a Lua error if status != SL_OK. */
void sl_lua_check(lua_State *L, int status);
/* Raise if p is NULL (C constructor failed); returns p. */
void *sl_lua_check_ptr(lua_State *L, void *p);

/* Tensor argument at idx (raises "bad argument #idx to 'f' (sslab.Tensor expected, got X)"). */
sl_tensor *sl_lua_check_tensor(lua_State *L, int idx);
sl_tensor *sl_lua_opt_tensor(lua_State *L, int idx); /* nil/none -> NULL */
int sl_lua_is_tensor(lua_State *L, int idx);

/* Push a userdata slot (NULL inside) with the tensor metatable; store into *slot. */
sl_tensor **sl_lua_new_tensor_slot(lua_State *L);
/* Push t, taking ownership (t NULL -> raises the current error). */
void sl_lua_push_tensor(lua_State *L, sl_tensor *t);
/* Tell the GC that n bytes of C memory were just allocated. */
void sl_lua_account(lua_State *L, int64_t nbytes);

/* A dim argument, 1-based in Lua (negative counts from the end); returns 0-based. */
int sl_lua_check_dim(lua_State *L, int idx, int ndim);
/* Sizes from varargs (3, 4) or one table {3, 4} starting at idx; returns ndim. */
int sl_lua_check_sizes(lua_State *L, int idx, int64_t *size);
/* A 0-based int64 [n] copy of a 1-based position list at idx (a table or a 1-d int64
 * tensor), pushed on the stack (freed by the GC). With limit > 0 every position must lie
 * in [1, limit]; messages name `what`: "subset: indices entry 3 is not an integer",
 * "membank_update: positions[2] = 9 out of range [1, 4]". */
sl_tensor *sl_lua_positions(lua_State *L, int idx, int64_t limit, const char *what);
/* dtype by name, at idx, default def. */
sl_dtype sl_lua_opt_dtype(lua_State *L, int idx, sl_dtype def);
/* The generator argument at idx (an sslab.Generator) or the default one. */
struct sl_rng *sl_lua_opt_rng(lua_State *L, int idx);

/* Registration of each area (add yours here and to lua_module.c). */
void sl_bind_tensor(lua_State *L);
void sl_bind_random(lua_State *L);
void sl_bind_nn(lua_State *L);    /* subtable core.nn: the kernels of runtime/nn (lua_nn.c) */
void sl_bind_optim(lua_State *L); /* subtable core.optim: optimiser updates (lua_optim.c) */
void sl_bind_checkpoint(lua_State *L); /* sslab.save / sslab.load (lua_checkpoint.c) */
void sl_bind_ssl(lua_State *L);        /* core.ssl, core.eval: contrastive kernels, kNN (lua_ssl.c) */
void sl_bind_plot(lua_State *L);       /* core.plot_render: cairo figures (lua_plot.c) */
void sl_bind_image(lua_State *L);      /* subtable core.image: PNG/JPEG load/save/encode/decode (lua_image.c) */
void sl_bind_data(lua_State *L);  /* subtable core._data: datasets, readers, listdir, loader (lua_data.c) */
void sl_bind_aug(lua_State *L);   /* subtable core._aug: compile op tables to sl_aug_op arrays (lua_aug.c) */
/* The sl_aug_op array of an sslab.AugOps userdata (made by core._aug.compile) at idx; *n = its length. */
const struct sl_aug_op *sl_lua_check_aug_ops(lua_State *L, int idx, int *n);
/* Arithmetic methods into the tensor method table at index `methods`, and operator metamethods. */
void sl_bind_tensor_math(lua_State *L, int methods);

#endif
