/* elementwise.h - broadcasting arithmetic, comparisons, unary math, where.
 *
 * Binary ops follow numpy broadcasting. The result dtype is float32 if either
 * operand is float32, else int64 if either is int64, else uint8; comparisons
 * give uint8 masks (0/1). `out` may be NULL (a new tensor is returned through
 * *result) or an existing tensor of the broadcast shape (in-place when it is
 * one of the inputs).
 */
#ifndef SL_ELEMENTWISE_H
#define SL_ELEMENTWISE_H

#include "tensor/tensor.h"

typedef enum {
    SL_OP_ADD, SL_OP_SUB, SL_OP_MUL, SL_OP_DIV, SL_OP_POW, SL_OP_MAXIMUM, SL_OP_MINIMUM, SL_OP_FMOD,
    SL_OP_REMAINDER, /* floored modulo, sign of the divisor (Lua's %, torch.remainder); FMOD truncates */
    SL_OP_EQ, SL_OP_NE, SL_OP_LT, SL_OP_LE, SL_OP_GT, SL_OP_GE,
    SL_NUM_BINARY_OPS
} sl_binary_op;

typedef enum {
    SL_OP_NEG, SL_OP_ABS, SL_OP_EXP, SL_OP_LOG, SL_OP_SQRT, SL_OP_RSQRT, SL_OP_SIGMOID, SL_OP_TANH,
    SL_OP_RELU, SL_OP_FLOOR, SL_OP_CEIL, SL_OP_ROUND, SL_OP_SIGN, SL_OP_SIN, SL_OP_COS, SL_OP_LOG1P,
    SL_OP_RECIPROCAL, SL_OP_SQUARE,
    SL_NUM_UNARY_OPS
} sl_unary_op;

const char *sl_binary_op_name(sl_binary_op op);
const char *sl_unary_op_name(sl_unary_op op);

/* *result = a op b (out NULL) or out = a op b (then *result = NULL). */
int sl_tensor_binary(sl_binary_op op, const sl_tensor *a, const sl_tensor *b, sl_tensor *out, sl_tensor **result);
/* Same with a scalar right (or left, if scalar_left) operand. */
int sl_tensor_binary_scalar(sl_binary_op op, const sl_tensor *a, double s, bool scalar_left, sl_tensor *out,
                            sl_tensor **result);
/* Unary math on float32 (neg/abs/sign also on int64). */
int sl_tensor_unary(sl_unary_op op, const sl_tensor *a, sl_tensor *out, sl_tensor **result);
/* clamp to [lo, hi] (NaN bound = no bound). */
int sl_tensor_clamp(const sl_tensor *a, double lo, double hi, sl_tensor *out, sl_tensor **result);
/* result = cond ? a : b, all broadcast together. */
sl_tensor *sl_tensor_where_new(const sl_tensor *cond, const sl_tensor *a, const sl_tensor *b);
/* out += alpha * x (same shape or x broadcastable), float32. */
int sl_tensor_axpy(sl_tensor *out, float alpha, const sl_tensor *x);

#endif
