/*
 * op_table.c — lqf_op_table, generated from LQF_OP_LIST (nn/ops.h): entry LQF_OP_<ENUM> is
 * the lqf_op_def `lqf_op_<file>` defined in src/nn/op_<file>.c (or its family's file). A
 * list entry without its definition fails to link; the static assertions keep the table
 * and the enum the same length.
 */
#include "nn/ops.h"

#define LQF_OP_EXTERN_(U, l) extern const lqf_op_def lqf_op_##l;
LQF_OP_LIST(LQF_OP_EXTERN_)
#undef LQF_OP_EXTERN_

#define LQF_OP_ENTRY_(U, l) [LQF_OP_##U] = &lqf_op_##l,
const lqf_op_def *const lqf_op_table[LQF_OP_COUNT] = {LQF_OP_LIST(LQF_OP_ENTRY_)};
#undef LQF_OP_ENTRY_

/* one definition per operator, in enum order */
#define LQF_OP_ONE_(U, l) +1
_Static_assert(0 LQF_OP_LIST(LQF_OP_ONE_) == LQF_OP_COUNT, "LQF_OP_LIST and lqf_op disagree");
#undef LQF_OP_ONE_
_Static_assert(sizeof lqf_op_table / sizeof lqf_op_table[0] == LQF_OP_COUNT, "lqf_op_table has a row per op");

const lqf_op_def *lqf_op_get(lqf_op op) {
    return (int)op >= 0 && op < LQF_OP_COUNT ? lqf_op_table[op] : NULL;
}
