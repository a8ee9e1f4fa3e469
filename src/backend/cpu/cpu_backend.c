/*
 * cpu_backend.c — the CPU backend's table (lqf_backend_cpu): every entry of backend.h's
 * lqf_backend pointing at its kernel in backend/cpu/, and the buffer functions (64-byte
 * aligned host memory from core's allocator).
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

#include <string.h>

static void cpu_zero(float *p, size_t n) {
    if (n) memset(p, 0, n * sizeof(float));
}

static const lqf_backend cpu = {
    .name = "cpu",
    .alloc = lqf_alloc,
    .free = lqf_free,
    .zero = cpu_zero,
    .sgemm = lqf_sgemm,
    .conv_pack_weights = lqf_conv_pack_weights,
    .conv_unpack_weights = lqf_conv_unpack_weights,
    .conv2d_scratch = lqf_conv2d_scratch,
    .conv2d_forward = lqf_conv2d_forward,
    .conv2d_backward_scratch = lqf_conv2d_backward_scratch,
    .conv2d_backward_data = lqf_conv2d_backward_data,
    .conv2d_backward_weights = lqf_conv2d_backward_weights,
    .bias_backward = lqf_bias_backward,
    .maxpool_forward = lqf_maxpool_forward,
    .maxpool_backward = lqf_maxpool_backward,
    .resize_nearest = lqf_resize_nearest,
    .act_forward = lqf_act_forward,
    .act_backward = lqf_act_backward,
    .exp_forward = lqf_exp_forward,
    .unary_forward = lqf_unary_forward,
    .axpy = lqf_axpy,
    .binary = lqf_binary,
    .copy_view = lqf_copy_view,
    .scale_broadcast = lqf_scale_broadcast,
    .softmax = lqf_softmax,
    .reduce_sum = lqf_reduce_sum,
    .bn_forward_train = lqf_bn_forward_train,
    .bn_forward_infer = lqf_bn_forward_infer,
    .bn_backward_train = lqf_bn_backward_train,
    .bn_backward_infer = lqf_bn_backward_infer,
    .linear_forward = lqf_linear_forward,
    .linear_backward = lqf_linear_backward,
    .dropout_mask = lqf_dropout_mask,
    .dropout_forward = lqf_dropout_forward,
    .dropout_backward = lqf_dropout_backward,
    .l2norm_forward = lqf_l2norm_forward,
    .l2norm_backward = lqf_l2norm_backward,
};

const lqf_backend *lqf_backend_cpu(void) { return &cpu; }
