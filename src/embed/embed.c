/*
 * embed.c — the embedding model handle: a network plus its input contract (size, channel
 * order, mean/std), optional flip fusion, L2 normalisation and the feature norm reported
 * as a quality value (AdaFace's convention: the norm of the unnormalised embedding of the
 * un-flipped face); lqf_embed_fuse (embed.h) is that last step for every producer of raw
 * outputs. Faces are batched through the network in chunks of LQF_EMBED_CHUNK, each face
 * normalised straight into the inference executor's input buffer in its physical layout
 * (NHWC: no staging copy, no transpose) and the embeddings read from the output buffer.
 * The model is an ONNX file or an lqface training checkpoint (.safetensors); its contract is
 * the caller's, or else the one contract.c resolves from the file.
 */
#include "embed/embed.h"
#include "nn/net.h"

#include <math.h>
#include <string.h>

#define LQF_EMBED_CHUNK 32

struct lqf_embedder {
    lqf_net *net;
    lqf_input_contract c;
    int dim;
    float *out;  /* chunk output (2*CHUNK, dim) when the network's output buffer is not dense */
    int cap;     /* images `out` holds */
};

lqf_status lqf_embedder_load(const char *path, const lqf_input_contract *contract, lqf_embedder **out) {
    if (!out) return lqf_fail(LQF_ERR_ARG, "lqf_embedder_load: out is NULL");
    *out = NULL;
    if (!path) return lqf_fail(LQF_ERR_ARG, "lqf_embedder_load: path is NULL");
    lqf_contract_info ci;
    lqf_status st = contract ? LQF_OK : lqf_contract_resolve(path, NULL, &ci);
    if (st) return st;
    lqf_input_contract c = contract ? *contract : ci.c;
    if (c.width <= 0 || c.height <= 0) return lqf_fail(LQF_ERR_ARG, "%s: bad input contract size", path);
    lqf_net *net = NULL;
    if ((st = lqf_net_load(path, &net))) return st;
    if (lqf_net_num_inputs(net) != 1 || lqf_net_num_outputs(net) < 1) {
        lqf_net_free(net);
        return lqf_fail(LQF_ERR_UNSUPPORTED, "%s: an embedding model needs one input and one output", path);
    }
    int64_t d[8];
    int nd = lqf_net_input_shape(net, 0, 1, d);
    if (nd != 4 || d[1] != 3) {
        lqf_net_free(net);
        return lqf_fail(LQF_ERR_SHAPE, "%s: input is not an image tensor (1,3,H,W)", path);
    }
    if (d[2] != c.height || d[3] != c.width) {
        /* open height and width take the contract's size; a fixed size must be the contract's */
        if ((lqf_net_open_dims(net) & LQF_OPEN_HW) == LQF_OPEN_HW) st = lqf_net_set_input_size(net, c.height, c.width);
        else
            st = lqf_fail(LQF_ERR_SHAPE, "%s: network input is %dx%d but the contract says %dx%d", path, (int)d[3],
                          (int)d[2], c.width, c.height);
        if (st) {
            lqf_net_free(net);
            return st;
        }
    }
    nd = lqf_net_output_shape(net, 0, 1, d);
    int64_t dim = 1;
    for (int i = 1; i < nd; i++) dim *= d[i];
    lqf_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        lqf_net_free(net);
        return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", path);
    }
    e->net = net;
    e->c = c;
    e->dim = (int)dim;
    *out = e;
    return LQF_OK;
}

void lqf_embedder_free(lqf_embedder *e) {
    if (!e) return;
    lqf_net_free(e->net);
    lqf_free(e->out);
    free(e);
}

int lqf_embedder_dim(const lqf_embedder *e) { return e->dim; }
void lqf_embedder_contract(const lqf_embedder *e, lqf_input_contract *c) { *c = e->c; }
lqf_net *lqf_embedder_net(lqf_embedder *e) { return e->net; }

static lqf_status reserve(lqf_embedder *e, int images) {
    if (images <= e->cap) return LQF_OK;
    lqf_free(e->out);
    e->out = lqf_alloc((size_t)images * e->dim * sizeof(float));
    if (!e->out) {
        e->cap = 0;
        return lqf_fail(LQF_ERR_NOMEM, "embedder: out of memory for %d images", images);
    }
    e->cap = images;
    return LQF_OK;
}

/* Write face f (HWC bytes) normalised, in the network's channel order, into one image of
 * the input buffer whose channel, row and column strides are st; flip mirrors horizontally. */
static void normalise(const lqf_input_contract *c, const lqf_image *f, int flip, float *dst, const int64_t st[3]) {
    int W = c->width, H = c->height;
    int swap = f->order != c->order;
    float m[3], inv[3];
    for (int ch = 0; ch < 3; ch++) {
        m[ch] = c->mean[ch];
        inv[ch] = 1.0f / c->std[ch];
    }
    for (int y = 0; y < H; y++) {
        const uint8_t *row = f->data + (size_t)y * W * 3;
        float *o = dst + y * st[1];
        for (int x = 0; x < W; x++) {
            const uint8_t *px = row + (size_t)(flip ? W - 1 - x : x) * 3;
            float *op = o + x * st[2];
            for (int ch = 0; ch < 3; ch++) op[ch * st[0]] = ((float)px[swap ? 2 - ch : ch] - m[ch]) * inv[ch];
        }
    }
}

lqf_status lqf_embedder_embed(lqf_embedder *e, const lqf_image *const *faces, int n, float *emb, float *norms) {
    if (n <= 0) return LQF_OK;
    for (int i = 0; i < n; i++) {
        const lqf_image *f = faces[i];
        if (!f || !f->data || f->channels != 3)
            return lqf_fail(LQF_ERR_ARG, "embed: face %d is not a 3-channel image", i);
        if (f->width != e->c.width || f->height != e->c.height)
            return lqf_fail(LQF_ERR_SHAPE, "embed: face %d is %dx%d but the model expects %dx%d aligned faces", i,
                            f->width, f->height, e->c.width, e->c.height);
    }
    int views = e->c.flip_fusion ? 2 : 1;
    lqf_status st = reserve(e, LQF_EMBED_CHUNK * views);
    if (st) return st;
    int D = e->dim;
    for (int base = 0; base < n; base += LQF_EMBED_CHUNK) {
        int b = LQF_MIN(LQF_EMBED_CHUNK, n - base);
        lqf_exec *x;
        if ((st = lqf_net_exec(e->net, b * views, &x))) return st;
        const lqf_graph *g = lqf_net_graph(e->net);
        const lqf_view *vin = lqf_exec_view(x, g->inputs[0]);
        const int64_t strides[3] = {vin->strides[1], vin->strides[2], vin->strides[3]};
        float *in = lqf_exec_buffer(x, g->inputs[0]);
        /* layout: images 0..b-1 plain, b..2b-1 flipped */
#pragma omp parallel for schedule(static)
        for (int k = 0; k < b * views; k++)
            normalise(&e->c, faces[base + k % b], k >= b, in + (size_t)k * vin->strides[0], strides);
        if ((st = lqf_exec_forward(x))) return st;
        int ot = g->outputs[0];
        const float *out = lqf_exec_buffer(x, ot);
        if (!lqf_view_is_dense(lqf_exec_view(x, ot))) {
            lqf_exec_read(x, ot, e->out);
            out = e->out;
        }
        st = lqf_embed_fuse(out, views == 2 ? out + (size_t)b * D : NULL, b, D, base, emb + (size_t)base * D,
                            norms ? norms + base : NULL);
        if (st) return st;
    }
    return LQF_OK;
}

lqf_status lqf_embedder_embed_fn(void *embedder, const lqf_image *const *faces, int n, float *emb, float *norms) {
    return lqf_embedder_embed(embedder, faces, n, emb, norms);
}

lqf_status lqf_embed_fuse(const float *raw, const float *flipped, int n, int dim, int first, float *emb,
                          float *norms) {
    for (int i = 0; i < n; i++) {
        const float *r = raw + (size_t)i * dim, *fl = flipped ? flipped + (size_t)i * dim : NULL;
        float *o = emb + (size_t)i * dim;
        double nr = 0, nf = 0;
        for (int j = 0; j < dim; j++) {
            float v = fl ? r[j] + fl[j] : r[j];
            nr += (double)r[j] * r[j];
            o[j] = v;
            nf += (double)v * v;
        }
        if (!isfinite(nf)) return lqf_fail(LQF_ERR_NUMERIC, "embed: face %d gave a non-finite embedding", first + i);
        float inv = nf > 0 ? (float)(1.0 / sqrt(nf)) : 0.0f;
        for (int j = 0; j < dim; j++) o[j] *= inv;
        if (norms) norms[i] = (float)sqrt(nr);
    }
    return LQF_OK;
}

float lqf_cosine(const float *a, const float *b, int dim) {
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)a[i] * b[i];
    return (float)s;
}
