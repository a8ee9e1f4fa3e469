/*
 * gemm.c — the dense matrix product of lqface: lqf_sgemm, a thin row-major wrapper over
 * oneDNN's JIT sgemm (AVX-512 where available, threaded with OpenMP). Called from inside
 * an active OpenMP parallel region it runs single-threaded (oneDNN detects nesting), which
 * the tiled convolution paths rely on. Called from inside a parallel region that an if()
 * or num_threads(1) clause serialised, oneDNN would not see an active region and would
 * open a nested team, creating threads on every call; the product is then kept on the
 * calling thread as well, and so is any product under a million multiply-adds.
 */
#include "backend/cpu/cpu.h"
#include "core/core.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#define GEMM_PAR_MIN_MACS (1 << 20)

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
    /* One thread for a serialised region (see above) and for small products, where a
     * parallel region costs more than the product (and a scheduler quantum when another
     * process holds a core). */
    int one = !omp_in_parallel() && (omp_get_level() > 0 || (double)M * N * K < GEMM_PAR_MIN_MACS);
    int saved = one ? omp_get_max_threads() : 1;
    if (saved > 1) omp_set_num_threads(1);
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda,
                                  B, ldb, beta, C, ldc);
    if (saved > 1) omp_set_num_threads(saved);
    LQF_ASSERT(st == dnnl_success);
}
