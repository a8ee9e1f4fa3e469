/*
 * op_gemm.c — Gemm: y (M,N) = alpha * op(A) op(B) + beta * C, A a 2-D activation, B a 2-D
 * tensor stored as given (trans_b says how to read it), C broadcast over (M,N). Backward
 * gives A's and B's gradients as products and C's as its broadcast sum (the usual (N)
 * bias through the bias kernel).
 */
#include "nn/graph.h"

static int has_c(const lqf_node *n) { return n->nin > 2 && n->in[2] >= 0 && n->a.gemm.beta != 0.0f; }

static lqf_status gemm_infer(const lqf_graph *g, const lqf_node *n, const lqf_shape *shapes, lqf_shape *out) {
    const lqf_shape *a = &shapes[n->in[0]], *b = &shapes[n->in[1]];
    if (a->ndim != 2 || b->ndim != 2) return lqf_fail(LQF_ERR_SHAPE, "%s", "Gemm of tensors that are not 2-D");
    int64_t M = n->a.gemm.trans_a ? a->dims[1] : a->dims[0], K = n->a.gemm.trans_a ? a->dims[0] : a->dims[1];
    int64_t KB = n->a.gemm.trans_b ? b->dims[1] : b->dims[0], N = n->a.gemm.trans_b ? b->dims[0] : b->dims[1];
    if (K != KB)
        return lqf_fail(LQF_ERR_SHAPE, "input of %lld features for weights of %lld", (long long)K, (long long)KB);
    out->ndim = 2;
    out->dims[0] = M;
    out->dims[1] = N;
    if (has_c(n)) {
        const lqf_shape *cs = &shapes[n->in[2]];
        for (int i = 0; i < cs->ndim; i++) {
            int64_t want = out->dims[i + 2 - cs->ndim], d = cs->dims[i];
            if (cs->ndim > 2 || (d != 1 && d != want))
                return lqf_fail(LQF_ERR_SHAPE, "%s", "C does not broadcast to the product");
        }
    }
    return LQF_OK;
}

static int64_t gemm_cost(const lqf_graph *g, const lqf_node *n) {
    const lqf_tensor *b = &g->tensors[n->in[1]];
    int64_t rows = g->tensors[n->out].dims[0];
    if (g->tensors[n->out].batched) rows = 1;
    return rows * b->dims[0] * b->dims[1];
}

static size_t gemm_scratch(const lqf_op_ctx *c, int train) {
    return train && has_c(c->n) ? (size_t)lqf_view_numel(lqf_op_vin(c, 2)) : 0;
}

static lqf_status gemm_forward(lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    const lqf_view *vo = lqf_op_vout(c), *v0 = lqf_op_vin(c, 0), *vb = lqf_op_vin(c, 1);
    float *y = lqf_op_out(c);
    int64_t M = vo->dims[0], N = vo->dims[1], K = n->a.gemm.trans_a ? v0->dims[0] : v0->dims[1];
    float beta = 0.0f;
    if (has_c(n)) { /* y = beta * C broadcast over (M,N), then the product added */
        lqf_view vc;
        lqf_view_expand(lqf_op_vin(c, 2), 2, &vc);
        c->be->scale_broadcast(&vc, lqf_op_in(c, 2), n->a.gemm.beta, vo, y);
        beta = 1.0f;
    }
    c->be->sgemm(n->a.gemm.trans_a, n->a.gemm.trans_b, M, N, K, n->a.gemm.alpha, lqf_op_in(c, 0), v0->dims[1],
                 lqf_op_in(c, 1), vb->dims[1], beta, y, N);
    return LQF_OK;
}

static void gemm_backward(lqf_op_ctx *c) {
    const lqf_node *n = c->n;
    const lqf_view *vo = lqf_op_vout(c), *v0 = lqf_op_vin(c, 0);
    const float *x = lqf_op_in(c, 0), *B = lqf_op_in(c, 1), *dy = lqf_op_dy(c);
    float *gx = lqf_op_gin(c, 0), *gB = lqf_op_gin(c, 1);
    int ta = n->a.gemm.trans_a, tb = n->a.gemm.trans_b;
    int64_t M = vo->dims[0], N = vo->dims[1], K = ta ? v0->dims[0] : v0->dims[1];
    float al = n->a.gemm.alpha;
    const lqf_backend *be = c->be;
    if (gx) {
        if (!ta) {
            if (tb) be->sgemm(0, 0, M, K, N, al, dy, N, B, K, 1.0f, gx, K);
            else be->sgemm(0, 1, M, K, N, al, dy, N, B, N, 1.0f, gx, K);
        } else {
            if (tb) be->sgemm(1, 1, K, M, N, al, B, K, dy, N, 1.0f, gx, M);
            else be->sgemm(0, 1, K, M, N, al, B, N, dy, N, 1.0f, gx, M);
        }
    }
    if (gB) {
        if (!tb) {
            if (!ta) be->sgemm(1, 0, K, N, M, al, x, K, dy, N, 1.0f, gB, N);
            else be->sgemm(0, 0, K, N, M, al, x, M, dy, N, 1.0f, gB, N);
        } else {
            if (!ta) be->sgemm(1, 0, N, K, M, al, dy, N, x, K, 1.0f, gB, K);
            else be->sgemm(1, 1, N, K, M, al, dy, N, x, M, 1.0f, gB, K);
        }
    }
    float *gC = has_c(n) ? lqf_op_gin(c, 2) : NULL;
    if (gC) {
        const lqf_view *vc = lqf_op_vin(c, 2);
        if (n->a.gemm.beta == 1.0f && lqf_view_numel(vc) == N && vc->dims[vc->ndim - 1] == N)
            be->bias_backward(M, (int)N, dy, gC); /* the usual (N) bias */
        else
            lqf_op_reduce_into(c, vo, dy, vc, gC, n->a.gemm.beta, c->scratch);
    }
}

const lqf_op_def lqf_op_gemm = {
    .name = "Gemm",
    .infer = gemm_infer,
    .cost = gemm_cost,
    .scratch = gemm_scratch,
    .forward = gemm_forward,
    .backward = gemm_backward,
};
