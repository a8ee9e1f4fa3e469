/*
 * onnx_op_conv.c — the spatial operators of the ONNX importer: Conv (2-D, grouped, dilated,
 * explicit or SAME/VALID padding; weights packed with the backend's conv_pack_weights), a zero Pad
 * that only convolutions read (folded into their pads), BatchNormalization (kept as a graph
 * node: scale and shift learnable, running statistics constant; lqf_graph_optimize folds it
 * into the convolution before it for inference), MaxPool, and nearest Resize/Upsample by
 * integer factors.
 */
#include "onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

/* The kernel shape of a Conv node over x with weights w (OIHW), from its attributes; a Pad
 * folded into x joins the pads. ohw: the output height and width (in 64 bits: corrupt pads
 * must fail the size check, not wrap). */
static lqf_status conv_geometry(lqf_onnx_importer *im, const lqf_onnx_node *nd, const lqf_onnx_val *x,
                                const lqf_onnx_val *w, lqf_conv_shape *s, int64_t *ohw) {
    const Onnx__NodeProto *n = nd->n;
    int64_t ks[2] = {w->dims[2], w->dims[3]}, st[2] = {1, 1}, dl[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, tmp[8];
    int k;
    if ((k = lqf_onnx_attr_ints(n, "kernel_shape", tmp, 8)) >= 0 && (k != 2 || tmp[0] != ks[0] || tmp[1] != ks[1]))
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "kernel_shape does not match the weights");
    if (lqf_onnx_attr_ints_exact(n, "strides", st, 2)) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad strides");
    if (lqf_onnx_attr_ints_exact(n, "dilations", dl, 2)) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad dilations");
    if (lqf_onnx_attr_ints_exact(n, "pads", pads, 4)) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad pads");
    int64_t group = lqf_onnx_attr_i(n, "group", 1);
    int64_t H = x->dims[2], W = x->dims[3], C = x->dims[1], O = w->dims[0];
    char autopad[32];
    lqf_onnx_attr_s(n, "auto_pad", "NOTSET", autopad, sizeof autopad);
    if (x->padded) { /* a folded Pad: the tensor itself is unpadded, its padding joins ours */
        if (strcmp(autopad, "NOTSET") != 0) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "auto_pad after a Pad");
        H -= x->pad[0] + x->pad[2];
        W -= x->pad[1] + x->pad[3];
        for (int i = 0; i < 4; i++) pads[i] += x->pad[i];
    }
    if (!strcmp(autopad, "SAME_UPPER") || !strcmp(autopad, "SAME_LOWER")) {
        int64_t hw[2] = {H, W};
        for (int d = 0; d < 2; d++) {
            int64_t out = (hw[d] + st[d] - 1) / st[d];
            int64_t tot = LQF_MAX(0, (out - 1) * st[d] + (ks[d] - 1) * dl[d] + 1 - hw[d]);
            int64_t lo = autopad[5] == 'U' ? tot / 2 : tot - tot / 2;
            pads[d] = lo;
            pads[d + 2] = tot - lo;
        }
    } else if (!strcmp(autopad, "VALID")) {
        memset(pads, 0, sizeof pads);
    } else if (strcmp(autopad, "NOTSET") != 0) {
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "auto_pad '%s'", autopad);
    }
    if (group < 1 || C % group != 0 || O % group != 0 || w->dims[1] * group != C)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "input has %lld channels, weights expect %lld x group %lld", (long long)C,
                             (long long)w->dims[1], (long long)group);
    if (st[0] < 1 || st[1] < 1 || dl[0] < 1 || dl[1] < 1)
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "strides and dilations must be >= 1");
    int64_t oh = (H + pads[0] + pads[2] - dl[0] * (ks[0] - 1) - 1) / st[0] + 1;
    int64_t ow = (W + pads[1] + pads[3] - dl[1] * (ks[1] - 1) - 1) / st[1] + 1;
    if (H + pads[0] + pads[2] < dl[0] * (ks[0] - 1) + 1 || W + pads[1] + pads[3] < dl[1] * (ks[1] - 1) + 1 ||
        oh < 1 || ow < 1)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "input %lldx%lld is smaller than the %lldx%lld kernel", (long long)H,
                             (long long)W, (long long)ks[0], (long long)ks[1]);
    ohw[0] = oh;
    ohw[1] = ow;
    memset(s, 0, sizeof *s);
    s->n = (int)x->dims[0];
    s->h = (int)H;
    s->w = (int)W;
    s->cin = (int)C;
    s->cout = (int)O;
    s->kh = (int)ks[0];
    s->kw = (int)ks[1];
    s->sh = (int)st[0];
    s->sw = (int)st[1];
    s->pt = (int)pads[0];
    s->pl = (int)pads[1];
    s->pb = (int)pads[2];
    s->pr = (int)pads[3];
    s->dh = (int)dl[0];
    s->dw = (int)dl[1];
    s->group = (int)group;
    lqf_conv_shape_init(s);
    return LQF_OK;
}

/* The packed weights of constant w (OIHW) as a new PARAM tensor, or -1. */
static int packed_weights(lqf_onnx_importer *im, const lqf_onnx_val *w, const lqf_conv_shape *s) {
    int64_t wn = lqf_onnx_numel(4, w->dims), pn = (int64_t)lqf_conv_weight_size(s);
    float *wf = malloc((size_t)wn * sizeof(float));
    if (!wf) return -1;
    for (int64_t i = 0; i < wn; i++) wf[i] = (float)w->val[i];
    int wt = lqf_graph_add_tensor(im->g, w->name, LQF_T_PARAM, 1, &pn, 0);
    if (wt >= 0) lqf_backend_default()->conv_pack_weights(s, wf, lqf_graph_data(im->g, wt));
    free(wf);
    return wt;
}

lqf_status lqf_onnx_conv(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
    if (x->ndim != 4)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "only 2-D convolution is supported (input has %d dims)", x->ndim);
    if (w->tensor >= 0 || w->ndim != 4)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "weights must be a constant 4-D tensor");
    if (b && (b->tensor >= 0 || lqf_onnx_numel(b->ndim, b->dims) != w->dims[0]))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "bias must be a constant of Cout values");
    lqf_conv_shape s;
    int64_t ohw[2] = {0, 0};
    lqf_status st = conv_geometry(im, nd, x, w, &s, ohw);
    if (st) return st;
    int64_t O = w->dims[0];
    int ins[3] = {x->tensor, packed_weights(im, w, &s), -1};
    if (ins[1] < 0) return lqf_onnx_fail(im);
    if (b && (ins[2] = lqf_onnx_param(im, b, LQF_T_PARAM, 1, &O)) < 0) return lqf_onnx_fail(im);
    int64_t od[4] = {x->dims[0], O, ohw[0], ohw[1]};
    lqf_node *g;
    if ((st = lqf_onnx_emit_node(im, nd, LQF_OP_CONV, ins, b ? 3 : 2, 4, od, x->batched, &g))) return st;
    g->a.conv.kh = s.kh;
    g->a.conv.kw = s.kw;
    g->a.conv.sh = s.sh;
    g->a.conv.sw = s.sw;
    g->a.conv.pt = s.pt;
    g->a.conv.pl = s.pl;
    g->a.conv.pb = s.pb;
    g->a.conv.pr = s.pr;
    g->a.conv.dh = s.dh;
    g->a.conv.dw = s.dw;
    g->a.conv.group = s.group;
    g->a.conv.act = LQF_ACT_NONE;
    g->a.conv.act_param = -1;
    g->a.conv.residual = -1;
    /* SAME pads were computed for this input size */
    g->fixed = lqf_onnx_attr_s_is(nd->n, "auto_pad", "NOTSET", "SAME_UPPER") ||
               lqf_onnx_attr_s_is(nd->n, "auto_pad", "NOTSET", "SAME_LOWER");
    return LQF_OK;
}

/* Zero padding of H and W read only by convolutions: the output is x marked padded. */
lqf_status lqf_onnx_pad(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const Onnx__NodeProto *n = nd->n;
    lqf_onnx_val *x = nd->in[0];
    int64_t pads[8];
    int np;
    float value = 0;
    if (!lqf_onnx_attr_s_is(n, "mode", "constant", "constant"))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "mode other than constant");
    if (im->opset < 11) {
        np = lqf_onnx_attr_ints(n, "pads", pads, 8);
        value = lqf_onnx_attr_f(n, "value", 0.0f);
    } else {
        const lqf_onnx_val *pv = nd->in[1], *cv = nd->in[2];
        if (!pv || pv->tensor >= 0) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "pads must be constant");
        int64_t n1 = lqf_onnx_numel(pv->ndim, pv->dims);
        np = n1 > 8 ? 9 : (int)n1;
        for (int i = 0; i < np && i < 8; i++) pads[i] = lqf_onnx_i64(pv->val[i]);
        if (cv) {
            if (cv->tensor >= 0 || lqf_onnx_numel(cv->ndim, cv->dims) != 1)
                return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "constant_value must be a constant scalar");
            value = (float)cv->val[0];
        }
    }
    if (x->ndim != 4 || np != 8 || pads[0] || pads[1] || pads[4] || pads[5] || value != 0.0f)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only zero padding of H and W of a 4-D tensor");
    for (int i = 0; i < 8; i++)
        if (pads[i] < 0 || pads[i] > 4096) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "negative or huge pads");
    const Onnx__GraphProto *gp = im->gp;
    for (size_t i = 0; i < gp->n_output; i++)
        if (!strcmp(gp->output[i]->name, n->output[0]))
            return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only when its output feeds convolutions");
    for (size_t i = 0; i < gp->n_node; i++)
        for (size_t j = 0; j < gp->node[i]->n_input; j++)
            if (!strcmp(gp->node[i]->input[j], n->output[0]) && (j != 0 || strcmp(gp->node[i]->op_type, "Conv")))
                return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only when its output feeds convolutions");
    lqf_onnx_val *o = lqf_onnx_alias(im, n->output[0], x);
    if (!o) return lqf_onnx_fail(im);
    o->padded = 1;
    o->pad[0] += pads[2];
    o->pad[1] += pads[3];
    o->pad[2] += pads[6];
    o->pad[3] += pads[7];
    o->dims[2] += pads[2] + pads[6];
    o->dims[3] += pads[3] + pads[7];
    return LQF_OK;
}

/* Kept as a node: gamma and beta PARAM, running mean and variance CONST (train.h updates
 * them in place in training mode), epsilon and momentum as the file has them (ONNX's
 * convention: running = running * momentum + batch * (1 - momentum)). */
lqf_status lqf_onnx_batchnorm(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    lqf_onnx_val *x = nd->in[0];
    if (x->ndim != 4 && x->ndim != 2) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
    int64_t c = x->dims[1];
    int ins[5] = {x->tensor};
    for (int i = 1; i < 5; i++) {
        const lqf_onnx_val *p = nd->in[i];
        if (p->tensor >= 0 || lqf_onnx_numel(p->ndim, p->dims) != c)
            return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "parameters must be constants of C values");
    }
    for (int i = 1; i < 5; i++)
        if ((ins[i] = lqf_onnx_param(im, nd->in[i], i < 3 ? LQF_T_PARAM : LQF_T_CONST, 1, &c)) < 0)
            return lqf_onnx_fail(im);
    lqf_node *g;
    lqf_status st = lqf_onnx_emit_node(im, nd, LQF_OP_BATCHNORM, ins, 5, x->ndim, x->dims, x->batched, &g);
    if (st) return st;
    g->a.bn.eps = lqf_onnx_attr_f(nd->n, "epsilon", 1e-5f);
    g->a.bn.momentum = lqf_onnx_attr_f(nd->n, "momentum", 0.9f);
    return LQF_OK;
}

lqf_status lqf_onnx_maxpool(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const Onnx__NodeProto *n = nd->n;
    lqf_onnx_val *x = nd->in[0];
    if (x->ndim != 4) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
    int64_t ks[8], st[2] = {1, 1}, pads[4] = {0, 0, 0, 0}, tmp[8];
    if (lqf_onnx_attr_ints(n, "kernel_shape", ks, 8) != 2)
        return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "needs a 2-D kernel_shape");
    if (lqf_onnx_attr_ints_exact(n, "strides", st, 2)) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad strides");
    if (lqf_onnx_attr_ints_exact(n, "pads", pads, 4)) return LQF_ONNX_FAIL(LQF_ERR_FORMAT, "%s", "bad pads");
    if (lqf_onnx_attr_ints(n, "dilations", tmp, 8) >= 0 && (tmp[0] != 1 || tmp[1] != 1))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "dilated pooling");
    if (n->n_output > 1 && n->output[1] && *n->output[1])
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "the Indices output");
    char autopad[32];
    lqf_onnx_attr_s(n, "auto_pad", "NOTSET", autopad, sizeof autopad);
    if (strcmp(autopad, "NOTSET") && strcmp(autopad, "VALID"))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "auto_pad '%s'", autopad);
    lqf_pool_shape s;
    memset(&s, 0, sizeof s);
    s.n = (int)x->dims[0];
    s.c = (int)x->dims[1];
    s.h = (int)x->dims[2];
    s.w = (int)x->dims[3];
    s.kh = (int)ks[0];
    s.kw = (int)ks[1];
    s.sh = (int)st[0];
    s.sw = (int)st[1];
    s.pt = (int)pads[0];
    s.pl = (int)pads[1];
    s.pb = (int)pads[2];
    s.pr = (int)pads[3];
    s.ceil_mode = (int)lqf_onnx_attr_i(n, "ceil_mode", 0);
    if (s.h + s.pt + s.pb < s.kh || s.w + s.pl + s.pr < s.kw || s.sh < 1 || s.sw < 1)
        return LQF_ONNX_FAIL(LQF_ERR_SHAPE, "input %dx%d is smaller than the %dx%d window", s.h, s.w, s.kh, s.kw);
    lqf_pool_shape_init(&s);
    int64_t od[4] = {x->dims[0], x->dims[1], s.oh, s.ow};
    lqf_node *g;
    lqf_status r = lqf_onnx_emit_node(im, nd, LQF_OP_MAXPOOL, &x->tensor, 1, 4, od, x->batched, &g);
    if (r) return r;
    g->a.pool.kh = s.kh;
    g->a.pool.kw = s.kw;
    g->a.pool.sh = s.sh;
    g->a.pool.sw = s.sw;
    g->a.pool.pt = s.pt;
    g->a.pool.pl = s.pl;
    g->a.pool.pb = s.pb;
    g->a.pool.pr = s.pr;
    g->a.pool.ceil_mode = s.ceil_mode;
    return LQF_OK;
}

/* A constant scale/size vector for Resize/Upsample → integer factors (sh, sw). */
static lqf_status resize_factors(lqf_onnx_importer *im, const lqf_onnx_node *nd, const lqf_onnx_val *x,
                                 const lqf_onnx_val *scales, const lqf_onnx_val *sizes, int *sh, int *sw) {
    double f[4];
    if (sizes && lqf_onnx_numel(sizes->ndim, sizes->dims) > 0) {
        if (lqf_onnx_numel(sizes->ndim, sizes->dims) != 4)
            return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "sizes must have 4 values");
        for (int i = 0; i < 4; i++) f[i] = sizes->val[i] / (double)x->dims[i];
    } else if (scales && lqf_onnx_numel(scales->ndim, scales->dims) == 4) {
        for (int i = 0; i < 4; i++) f[i] = scales->val[i];
    } else {
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "needs 4 constant scales or sizes");
    }
    for (int d = 2; d < 4; d++)
        if (!(f[d] <= 1024.0)) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "scale %g is out of range", f[d]);
    if (f[0] != 1.0 || f[1] != 1.0)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "only spatial (H, W) resizing is supported");
    for (int d = 2; d < 4; d++)
        if (f[d] < 1.0 || f[d] != floor(f[d]))
            return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "scale %g: only integer upsampling factors are supported", f[d]);
    *sh = (int)f[2];
    *sw = (int)f[3];
    return LQF_OK;
}

/* Resize (opset 10: x, scales; 11+: x, roi, scales, sizes) and Upsample (x, scales; opset
 * 7: a scales attribute), nearest only. */
lqf_status lqf_onnx_resize(lqf_onnx_importer *im, const lqf_onnx_node *nd) {
    const Onnx__NodeProto *n = nd->n;
    lqf_onnx_val *x = nd->in[0];
    if (x->ndim != 4) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%d-D input", x->ndim);
    if (!lqf_onnx_attr_s_is(n, "mode", "nearest", "nearest")) {
        char m[32];
        lqf_onnx_attr_s(n, "mode", "nearest", m, sizeof m);
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "mode '%s' (only nearest)", m);
    }
    char ct[48], nm[48];
    lqf_onnx_attr_s(n, "coordinate_transformation_mode", "half_pixel", ct, sizeof ct);
    lqf_onnx_attr_s(n, "nearest_mode", "round_prefer_floor", nm, sizeof nm);
    lqf_onnx_val *scales = NULL, *sizes = NULL, tmpv;
    double sv[4];
    if (!strcmp(n->op_type, "Upsample") || im->opset < 11) {
        scales = nd->in[1];
        strcpy(ct, "asymmetric");
        strcpy(nm, "floor");
        const Onnx__AttributeProto *a = lqf_onnx_attr(n, "scales");
        if (!scales && a) { /* opset 7: attribute */
            if (a->n_floats != 4) return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "needs 4 scales");
            for (int i = 0; i < 4; i++) sv[i] = a->floats[i];
            memset(&tmpv, 0, sizeof tmpv);
            tmpv.ndim = 1;
            tmpv.dims[0] = 4;
            tmpv.val = sv;
            scales = &tmpv;
        }
    } else {
        scales = nd->in[2];
        sizes = nd->in[3];
    }
    if ((scales && scales->tensor >= 0) || (sizes && sizes->tensor >= 0))
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "%s", "scales/sizes must be constant");
    int ok_mode = (!strcmp(ct, "asymmetric") && !strcmp(nm, "floor")) ||
                  ((!strcmp(ct, "half_pixel") || !strcmp(ct, "pytorch_half_pixel")) &&
                   (!strcmp(nm, "round_prefer_floor") || !strcmp(nm, "round_prefer_ceil")));
    if (!ok_mode)
        return LQF_ONNX_FAIL(LQF_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' with nearest_mode '%s'", ct, nm);
    int sh = 1, sw = 1;
    lqf_status r = resize_factors(im, nd, x, scales, sizes, &sh, &sw);
    if (r) return r;
    int64_t od[4] = {x->dims[0], x->dims[1], x->dims[2] * sh, x->dims[3] * sw};
    lqf_node *g;
    if ((r = lqf_onnx_emit_node(im, nd, LQF_OP_RESIZE, &x->tensor, 1, 4, od, x->batched, &g))) return r;
    g->a.resize.sh = sh;
    g->a.resize.sw = sw;
    g->fixed = sizes && lqf_onnx_numel(sizes->ndim, sizes->dims) > 0; /* factors from sizes for this input */
    return LQF_OK;
}
