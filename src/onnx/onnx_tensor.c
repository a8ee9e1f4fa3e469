/*
 * onnx_tensor.c — ONNX TensorProto contents (initializers, Constant nodes) read into the
 * importer's constants: every element type lqface meets (float, double, the signed and
 * unsigned integers, bool) from raw bytes or the typed repeated fields, checked against the
 * shape before anything is allocated; and constants written into graph storage as float,
 * 4-D tensors in the graph's NHWC layout.
 */
#include "onnx/onnx_internal.h"

#include <string.h>

int lqf_onnx_is_int_type(int dt) {
    return dt == 2 || dt == 3 || dt == 4 || dt == 5 || dt == 6 || dt == 7 || dt == 9 || dt == 12 || dt == 13;
}

lqf_status lqf_onnx_read_tensor(lqf_onnx_importer *im, const Onnx__TensorProto *t, const char *what,
                                lqf_onnx_val *v) {
    const char *nm = t->name && *t->name ? t->name : what;
    if ((int)t->n_dims > LQF_MAX_DIMS)
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has %d dims (at most %d supported)", im->path,
                        nm, (int)t->n_dims, LQF_MAX_DIMS);
    if (t->n_external_data > 0 || (t->has_data_location && t->data_location == 1))
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' uses external data files", im->path, nm);
    v->ndim = (int)t->n_dims;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' has a negative dimension", im->path, nm);
        v->dims[i] = t->dims[i];
    }
    int64_t n = lqf_onnx_numel(v->ndim, v->dims);
    if (n > LQF_ONNX_MAX_NUMEL)
        return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' is too large (corrupt dims?)", im->path, nm);
    int dt = t->data_type;
    size_t esz;
    switch (dt) {
    case 1: case 6: case 12: esz = 4; break;
    case 7: case 11: case 13: esz = 8; break;
    case 2: case 3: case 9: esz = 1; break;
    case 4: case 5: esz = 2; break;
    default:
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported data type %d", im->path, nm, dt);
    }
    v->is_int = lqf_onnx_is_int_type(dt);
    v->val = malloc(((size_t)n + 1) * sizeof(double));
    if (!v->val) return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory reading tensor '%s'", im->path, nm);
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != (size_t)n * esz)
            return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes, its shape needs %zu", im->path, nm,
                            t->raw_data.len, (size_t)n * esz);
        const uint8_t *r = t->raw_data.data;
        for (int64_t i = 0; i < n; i++) {
            const uint8_t *q = r + i * esz;
            double x = 0;
            switch (dt) {
            case 1: { float f; memcpy(&f, q, 4); x = f; break; }
            case 11: { double d; memcpy(&d, q, 8); x = d; break; }
            case 6: { int32_t k; memcpy(&k, q, 4); x = k; break; }
            case 12: { uint32_t k; memcpy(&k, q, 4); x = k; break; }
            case 7: { int64_t k; memcpy(&k, q, 8); x = (double)k; break; }
            case 13: { uint64_t k; memcpy(&k, q, 8); x = (double)k; break; }
            case 2: case 9: x = *q; break;
            case 3: x = (int8_t)*q; break;
            case 4: { uint16_t k; memcpy(&k, q, 2); x = k; break; }
            case 5: { int16_t k; memcpy(&k, q, 2); x = k; break; }
            }
            v->val[i] = x;
        }
        return LQF_OK;
    }
    size_t have;
    switch (dt) {
    case 1: have = t->n_float_data; break;
    case 11: have = t->n_double_data; break;
    case 7: have = t->n_int64_data; break;
    case 12: case 13: have = t->n_uint64_data; break;
    default: have = t->n_int32_data; break;
    }
    if (have != (size_t)n)
        return lqf_fail(LQF_ERR_FORMAT, "%s: tensor '%s' holds %zu values, its shape needs %lld", im->path, nm,
                        have, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case 1: v->val[i] = t->float_data[i]; break;
        case 11: v->val[i] = t->double_data[i]; break;
        case 7: v->val[i] = (double)t->int64_data[i]; break;
        case 12: case 13: v->val[i] = (double)t->uint64_data[i]; break;
        default: v->val[i] = t->int32_data[i]; break;
        }
    }
    return LQF_OK;
}

void lqf_onnx_store(const lqf_onnx_val *v, int ndim, const int64_t *dims, float *dst) {
    int64_t n = lqf_onnx_numel(ndim, dims);
    if (ndim == 4) {
        int64_t N = dims[0], C = dims[1], H = dims[2], W = dims[3];
        for (int64_t a = 0; a < N; a++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t w = 0; w < W; w++)
                        dst[((a * H + h) * W + w) * C + c] = (float)v->val[((a * C + c) * H + h) * W + w];
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = (float)v->val[i];
    }
}
