/*
 * view.c — the shape and view arithmetic of backend.h, shared by every backend and by the
 * layers above (no data is touched): dense and channels-last strides, view predicates and
 * rearrangements (density, equal layouts, permutation, numpy right-alignment), and the
 * output sizes of convolution and pooling (ONNX rules, ceil_mode included) with their
 * weight and multiply-add counts.
 */
#include "backend/backend.h"

void lqf_view_dense(lqf_view *v, int ndim, const int64_t *dims) {
    v->ndim = ndim;
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        v->dims[d] = dims[d];
        v->strides[d] = s;
        s *= dims[d];
    }
}

void lqf_view_nhwc(lqf_view *v, const int64_t dims_nchw[4]) {
    int64_t C = dims_nchw[1], H = dims_nchw[2], W = dims_nchw[3];
    v->ndim = 4;
    for (int d = 0; d < 4; d++) v->dims[d] = dims_nchw[d];
    v->strides[0] = H * W * C;
    v->strides[1] = 1;
    v->strides[2] = W * C;
    v->strides[3] = C;
}

int64_t lqf_view_numel(const lqf_view *v) {
    int64_t n = 1;
    for (int i = 0; i < v->ndim; i++) n *= v->dims[i];
    return n;
}

int lqf_view_is_dense(const lqf_view *v) {
    int64_t s = 1;
    for (int i = v->ndim - 1; i >= 0; i--) {
        if (v->dims[i] == 1) continue;
        if (v->strides[i] != s) return 0;
        s *= v->dims[i];
    }
    return 1;
}

int lqf_view_same_layout(const lqf_view *a, const lqf_view *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] != b->dims[i]) return 0;
        if (a->dims[i] != 1 && a->strides[i] != b->strides[i]) return 0;
    }
    return 1;
}

void lqf_view_permute(const lqf_view *in, const int *perm, lqf_view *out) {
    out->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++) {
        out->dims[i] = in->dims[perm[i]];
        out->strides[i] = in->strides[perm[i]];
    }
}

void lqf_view_expand(const lqf_view *v, int ndim, lqf_view *out) {
    int k = ndim - v->ndim;
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        out->dims[i] = i < k ? 1 : v->dims[i - k];
        out->strides[i] = i < k ? 0 : v->strides[i - k];
    }
}

void lqf_conv_shape_init(lqf_conv_shape *s) {
    if (s->sh < 1) s->sh = 1;
    if (s->sw < 1) s->sw = 1;
    if (s->dh < 1) s->dh = 1;
    if (s->dw < 1) s->dw = 1;
    if (s->group < 1) s->group = 1;
    s->oh = (s->h + s->pt + s->pb - s->dh * (s->kh - 1) - 1) / s->sh + 1;
    s->ow = (s->w + s->pl + s->pr - s->dw * (s->kw - 1) - 1) / s->sw + 1;
    if (s->oh < 0) s->oh = 0;
    if (s->ow < 0) s->ow = 0;
}

int64_t lqf_conv_macs(const lqf_conv_shape *s) {
    return (int64_t)s->oh * s->ow * s->cout * (s->cin / s->group) * s->kh * s->kw;
}

size_t lqf_conv_weight_size(const lqf_conv_shape *s) {
    return (size_t)s->cout * (size_t)(s->cin / s->group) * (size_t)s->kh * (size_t)s->kw;
}

/* Output extent of a pooling window: ceil_mode as PyTorch/ONNX Runtime apply it (a window
 * that would start inside the right/bottom padding is dropped). */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil_mode) {
    int span = in + p0 + p1 - k;
    if (span < 0) return 0;
    int o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* The last window must start inside the input or the leading padding. */
    if (ceil_mode && (o - 1) * s >= in + p0) o--;
    return o;
}

void lqf_pool_shape_init(lqf_pool_shape *s) {
    if (s->sh < 1) s->sh = 1;
    if (s->sw < 1) s->sw = 1;
    s->oh = pool_out(s->h, s->kh, s->sh, s->pt, s->pb, s->ceil_mode);
    s->ow = pool_out(s->w, s->kw, s->sw, s->pl, s->pr, s->ceil_mode);
}
