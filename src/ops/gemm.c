/*
 * gemm.c — the dense matrix product of lqface: lqf_sgemm, a thin row-major wrapper over
 * oneDNN's JIT sgemm (AVX-512 where available, threaded with OpenMP). Called from inside
 * an OpenMP parallel region it runs single-threaded (oneDNN detects nesting), which the
 * tiled convolution paths rely on.
 */
#include "ops/ops.h"
#include "core/core.h"

#include <oneapi/dnnl/dnnl.h>

/* C(MxN) = alpha * op(A)(MxK) * op(B)(KxN) + beta * C, all row-major. */
void lqf_sgemm(int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
               float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        /* Empty product: C = beta * C (oneDNN rejects K = 0). */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
        return;
    }
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda,
                                  B, ldb, beta, C, ldc);
    LQF_ASSERT(st == dnnl_success);
}
