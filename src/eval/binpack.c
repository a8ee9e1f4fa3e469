/*
 * binpack.c — reader of insightface validation packs (.bin: pickle((bins, issame_list))).
 * A small pickle virtual machine that understands exactly the opcodes and globals these
 * files use: Python-2 pickles of str (BINSTRING), Python-3 pickles of bytes (BINBYTES, or
 * _codecs.encode(latin-1 text) under protocol 2), numpy uint8 arrays from cv2.imencode
 * (numpy.core.multiarray._reconstruct + BUILD with the raw data; protocol 5's _frombuffer of
 * an in-band BYTEARRAY8), Python or numpy bools.
 * Anything else is rejected with the opcode and its byte offset. The encoded images are not
 * copied: they point into the file's bytes (or the one latin-1 conversion of a text), which
 * the lqf_bin_pack keeps, so an image the pickle references many times (memo) is stored once
 * and memory stays linear in the file size.
 */
#include "eval/eval.h"

#include <string.h>

enum { T_NONE, T_BOOL, T_INT, T_FLOAT, T_STR, T_BYTES, T_TUPLE, T_LIST, T_DICT, T_GLOBAL, T_NDARRAY, T_DTYPE,
       T_SCALAR };
enum { G_CODECS_ENCODE = 1, G_RECONSTRUCT, G_FROMBUFFER, G_NDARRAY, G_DTYPE, G_SCALAR, G_BYTES };

typedef struct {
    int type;
    int g;            /* T_GLOBAL: which callable */
    int owned;        /* p is malloc'd */
    int64_t i;        /* T_BOOL, T_INT, T_SCALAR value */
    const uint8_t *p; /* T_STR (utf-8), T_BYTES, T_DTYPE code; T_NDARRAY data once built */
    size_t len;
    int *kids; /* T_TUPLE, T_LIST, T_DICT (key, value, ...) */
    int nk, ck;
    int dtype; /* T_NDARRAY: dtype object id, -1 until built */
    int latin1; /* T_STR: the id of its _codecs.encode(latin-1) result, -1 until made */
    int src;    /* T_NDARRAY: the bytes object its data is (once built) */
} pobj;

typedef struct {
    const char *file;
    const uint8_t *buf;
    size_t len, pos, op_pos;
    pobj *obj;
    int nobj, cobj;
    int *stack, sp, cstack;
    int *marks, nmark, cmark;
    int *memo;
    size_t cmemo, nmemo_set;
} vm;

static lqf_status bad_opcode(vm *v, int op) {
    return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (unexpected pickle opcode 0x%02x at byte %zu)",
                    v->file, op, v->op_pos);
}
static lqf_status malformed(vm *v, const char *what) {
    return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (malformed pickle at byte %zu: %s)", v->file,
                    v->op_pos, what);
}
static lqf_status nomem(vm *v) { return lqf_fail(LQF_ERR_NOMEM, "%s: out of memory", v->file); }

static int grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 1;
    int c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return 0;
    *p = q, *cap = c;
    return 1;
}

static int new_obj(vm *v, int type) {
    if (!grow((void **)&v->obj, &v->cobj, v->nobj + 1, sizeof(pobj))) return -1;
    pobj *o = &v->obj[v->nobj];
    memset(o, 0, sizeof *o);
    o->type = type;
    o->dtype = o->latin1 = -1;
    return v->nobj++;
}

static int add_kid(vm *v, int parent, int kid) {
    pobj *o = &v->obj[parent];
    if (!grow((void **)&o->kids, &o->ck, o->nk + 1, sizeof(int))) return 0;
    o->kids[o->nk++] = kid;
    return 1;
}

static lqf_status push(vm *v, int id) {
    if (id < 0) return nomem(v);
    if (!grow((void **)&v->stack, &v->cstack, v->sp + 1, sizeof(int))) return nomem(v);
    v->stack[v->sp++] = id;
    return LQF_OK;
}

static int base(vm *v) { return v->nmark ? v->marks[v->nmark - 1] : 0; }

static lqf_status pop(vm *v, int *id) {
    if (v->sp <= base(v)) return malformed(v, "stack underflow");
    *id = v->stack[--v->sp];
    return LQF_OK;
}

static lqf_status pop_mark(vm *v, int *from) {
    if (!v->nmark) return malformed(v, "no MARK");
    *from = v->marks[--v->nmark];
    return LQF_OK;
}

static lqf_status need(vm *v, size_t n) {
    if (n > v->len - v->pos)
        return lqf_fail(LQF_ERR_FORMAT, "%s: truncated pickle (opcode at byte %zu needs %zu more bytes, file ends at %zu)",
                        v->file, v->op_pos, n, v->len);
    return LQF_OK;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t x = 0;
    for (int k = n - 1; k >= 0; k--) x = (x << 8) | p[k];
    return x;
}

/* The little-endian unsigned operand of n bytes that follows an opcode. */
static lqf_status read_uint(vm *v, int n, uint64_t *x) {
    lqf_status st = need(v, (size_t)n);
    if (st) return st;
    *x = rd_le(v->buf + v->pos, n);
    v->pos += (size_t)n;
    return LQF_OK;
}

static lqf_status memo_put(vm *v, size_t key) {
    if (v->sp <= 0) return malformed(v, "memo of an empty stack");
    if (key > v->len + 16) return malformed(v, "memo key out of range");
    if (key >= v->cmemo) {
        size_t c = v->cmemo ? v->cmemo : 256;
        while (c <= key) c *= 2;
        int *m = realloc(v->memo, c * sizeof *m);
        if (!m) return nomem(v);
        for (size_t k = v->cmemo; k < c; k++) m[k] = -1;
        v->memo = m, v->cmemo = c;
    }
    if (v->memo[key] < 0) v->nmemo_set++;
    v->memo[key] = v->stack[v->sp - 1];
    return LQF_OK;
}

static lqf_status memo_get(vm *v, size_t key) {
    if (key >= v->cmemo || v->memo[key] < 0) return malformed(v, "memo key not set");
    return push(v, v->memo[key]);
}

/* A string or bytes object made from raw file bytes (no copy). */
static lqf_status push_data(vm *v, int type, size_t n) {
    lqf_status st = need(v, n);
    if (st) return st;
    int id = new_obj(v, type);
    if (id < 0) return nomem(v);
    v->obj[id].p = v->buf + v->pos;
    v->obj[id].len = n;
    v->pos += n;
    return push(v, id);
}

static int str_is(const pobj *o, const char *s) {
    size_t n = strlen(s);
    return (o->type == T_STR || o->type == T_BYTES || o->type == T_DTYPE) && o->len == n && !memcmp(o->p, s, n);
}

static int global_kind(const char *mod, size_t ml, const char *name, size_t nl) {
#define IS(a, l, s) ((l) == strlen(s) && !memcmp((a), (s), (l)))
    int core = IS(mod, ml, "numpy.core.multiarray") || IS(mod, ml, "numpy._core.multiarray");
    int numeric = IS(mod, ml, "numpy.core.numeric") || IS(mod, ml, "numpy._core.numeric");
    if (IS(mod, ml, "_codecs") && IS(name, nl, "encode")) return G_CODECS_ENCODE;
    if (core && IS(name, nl, "_reconstruct")) return G_RECONSTRUCT;
    if (core && IS(name, nl, "scalar")) return G_SCALAR;
    if (numeric && IS(name, nl, "_frombuffer")) return G_FROMBUFFER;
    if (IS(mod, ml, "numpy") && IS(name, nl, "ndarray")) return G_NDARRAY;
    if (IS(mod, ml, "numpy") && IS(name, nl, "dtype")) return G_DTYPE;
    if ((IS(mod, ml, "__builtin__") || IS(mod, ml, "builtins")) && IS(name, nl, "bytes")) return G_BYTES;
    return 0;
#undef IS
}

static lqf_status push_global(vm *v, const char *mod, size_t ml, const char *name, size_t nl) {
    int g = global_kind(mod, ml, name, nl);
    if (!g) {
        int a = (int)(ml > 60 ? 60 : ml), b = (int)(nl > 60 ? 60 : nl);
        return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (unexpected pickle global %.*s.%.*s at byte %zu)",
                        v->file, a, mod, b, name, v->op_pos);
    }
    int id = new_obj(v, T_GLOBAL);
    if (id < 0) return nomem(v);
    v->obj[id].g = g;
    return push(v, id);
}

/* _codecs.encode(text, 'latin1'): UTF-8 text whose code points are all < 256 -> bytes. The
 * result is made once per text object and shared by later calls (a pickle can call encode on
 * one memoised text any number of times: copying each time would amplify the file). */
static lqf_status latin1_bytes(vm *v, int text, int *out) {
    if (v->obj[text].latin1 >= 0) {
        *out = v->obj[text].latin1;
        return LQF_OK;
    }
    const pobj *s = &v->obj[text];
    uint8_t *b = malloc(s->len ? s->len : 1);
    if (!b) return nomem(v);
    size_t n = 0;
    for (size_t k = 0; k < s->len;) {
        uint8_t c = s->p[k];
        if (c < 0x80) {
            b[n++] = c, k++;
        } else if ((c & 0xE0) == 0xC0 && k + 1 < s->len && (s->p[k + 1] & 0xC0) == 0x80) {
            unsigned cp = ((unsigned)(c & 0x1F) << 6) | (s->p[k + 1] & 0x3F);
            if (cp > 0xFF) break;
            b[n++] = (uint8_t)cp, k += 2;
        } else {
            free(b);
            return malformed(v, "_codecs.encode of text that is not latin-1");
        }
    }
    if (n == 0 && s->len) { /* the loop broke on a code point > 255 */
        free(b);
        return malformed(v, "_codecs.encode of text that is not latin-1");
    }
    int id = new_obj(v, T_BYTES);
    if (id < 0) {
        free(b);
        return nomem(v);
    }
    v->obj[id].p = b, v->obj[id].len = n, v->obj[id].owned = 1;
    v->obj[text].latin1 = id;
    *out = id;
    return LQF_OK;
}

/* A numpy array of 1-byte elements: check dtype and shape against the raw data. */
static lqf_status set_array(vm *v, int arr, int dtype, int shape_id, int data_id) {
    const pobj *shape = &v->obj[shape_id], *dt = &v->obj[dtype], *data = &v->obj[data_id];
    if (shape->type != T_TUPLE || dt->type != T_DTYPE || data->type != T_BYTES)
        return malformed(v, "numpy array state is not (shape, dtype, raw bytes)");
    if (!(str_is(dt, "u1") || str_is(dt, "i1") || str_is(dt, "b1")))
        return malformed(v, "numpy array of a type other than uint8/int8/bool");
    uint64_t count = 1;
    for (int k = 0; k < shape->nk; k++) {
        const pobj *d = &v->obj[shape->kids[k]];
        if (d->type != T_INT || d->i < 0) return malformed(v, "numpy array shape is not a tuple of sizes");
        count *= (uint64_t)d->i;
        if (count > v->len) return malformed(v, "numpy array larger than its data");
    }
    if (count != data->len) return malformed(v, "numpy array shape does not match its data size");
    pobj *o = &v->obj[arr];
    o->p = data->p, o->len = data->len, o->dtype = dtype, o->src = data_id;
    return LQF_OK;
}

static lqf_status do_reduce(vm *v) {
    int args = 0, fn = 0;
    lqf_status st;
    if ((st = pop(v, &args)) || (st = pop(v, &fn))) return st;
    pobj *f = &v->obj[fn], *a = &v->obj[args];
    if (f->type != T_GLOBAL || a->type != T_TUPLE) return malformed(v, "REDUCE needs a global and an argument tuple");
    int id = -1;
    switch (f->g) {
    case G_CODECS_ENCODE: {
        if (a->nk != 2 || v->obj[a->kids[0]].type != T_STR || !(str_is(&v->obj[a->kids[1]], "latin1") ||
                                                                str_is(&v->obj[a->kids[1]], "latin-1")))
            return malformed(v, "_codecs.encode needs (text, 'latin1')");
        if ((st = latin1_bytes(v, a->kids[0], &id))) return st;
        break;
    }
    case G_BYTES:
        if (a->nk != 0) return malformed(v, "bytes() with arguments");
        if ((id = new_obj(v, T_BYTES)) < 0) return nomem(v);
        v->obj[id].p = v->buf, v->obj[id].len = 0;
        break;
    case G_RECONSTRUCT:
        if (a->nk != 3 || v->obj[a->kids[0]].type != T_GLOBAL || v->obj[a->kids[0]].g != G_NDARRAY)
            return malformed(v, "_reconstruct needs (numpy.ndarray, shape, typecode)");
        if ((id = new_obj(v, T_NDARRAY)) < 0) return nomem(v);
        break;
    case G_FROMBUFFER: /* protocol 5: _frombuffer(buffer, dtype, shape, order) */
        if (a->nk != 4) return malformed(v, "_frombuffer needs (buffer, dtype, shape, order)");
        if ((id = new_obj(v, T_NDARRAY)) < 0) return nomem(v);
        a = &v->obj[args];
        if ((st = set_array(v, id, a->kids[1], a->kids[2], a->kids[0]))) return st;
        break;
    case G_DTYPE: {
        if (a->nk < 1 || (v->obj[a->kids[0]].type != T_STR && v->obj[a->kids[0]].type != T_BYTES))
            return malformed(v, "numpy.dtype needs a type code");
        const uint8_t *code = v->obj[a->kids[0]].p;
        size_t code_len = v->obj[a->kids[0]].len;
        if ((id = new_obj(v, T_DTYPE)) < 0) return nomem(v);
        v->obj[id].p = code, v->obj[id].len = code_len;
        break;
    }
    case G_SCALAR: {
        if (a->nk != 2 || v->obj[a->kids[0]].type != T_DTYPE || v->obj[a->kids[1]].type != T_BYTES)
            return malformed(v, "numpy scalar needs (dtype, bytes)");
        const pobj *dt = &v->obj[a->kids[0]], *d = &v->obj[a->kids[1]];
        if (!(str_is(dt, "b1") || str_is(dt, "u1") || str_is(dt, "i1")) || d->len != 1)
            return malformed(v, "numpy scalar of a type other than bool/uint8/int8");
        int64_t value = d->p[0];
        if ((id = new_obj(v, T_SCALAR)) < 0) return nomem(v);
        v->obj[id].i = value;
        break;
    }
    default:
        return malformed(v, "REDUCE of a global that cannot be called");
    }
    return push(v, id);
}

static lqf_status do_build(vm *v) {
    int state = 0, target;
    lqf_status st;
    if ((st = pop(v, &state))) return st;
    if (v->sp <= base(v)) return malformed(v, "BUILD without an object");
    target = v->stack[v->sp - 1];
    pobj *o = &v->obj[target], *s = &v->obj[state];
    if (o->type == T_DTYPE) return LQF_OK; /* byte order/flags state: nothing to keep */
    if (o->type != T_NDARRAY) return malformed(v, "BUILD of an object other than a numpy array");
    if (s->type != T_TUPLE || (s->nk != 5 && s->nk != 4)) return malformed(v, "numpy array state is not a 4/5-tuple");
    int k0 = s->nk == 5 ? 1 : 0;
    if (v->obj[s->kids[k0 + 1]].type != T_DTYPE) return malformed(v, "numpy array state without a dtype");
    if ((st = set_array(v, target, s->kids[k0 + 1], s->kids[k0], s->kids[k0 + 3]))) return st;
    return LQF_OK;
}

static lqf_status make_seq(vm *v, int type, int from) {
    int id = new_obj(v, type);
    if (id < 0) return nomem(v);
    for (int k = from; k < v->sp; k++)
        if (!add_kid(v, id, v->stack[k])) return nomem(v);
    v->sp = from;
    return push(v, id);
}

static lqf_status run_vm(vm *v, int *result) {
    lqf_status st = LQF_OK;
    if (v->len == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin: empty file", v->file);
    if (v->buf[0] != 0x80)
        return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin: not a pickle (first byte 0x%02x, expected the PROTO opcode 0x80)",
                        v->file, v->buf[0]);
    for (;;) {
        if (v->pos >= v->len)
            return lqf_fail(LQF_ERR_FORMAT, "%s: truncated pickle (no STOP opcode before the end at byte %zu)", v->file,
                            v->len);
        v->op_pos = v->pos;
        int op = v->buf[v->pos++];
        const uint8_t *q = v->buf + v->pos;
        int id, a = 0, b = 0;
        switch (op) {
        case 0x80: /* PROTO */
            if ((st = need(v, 1))) return st;
            if (q[0] < 2 || q[0] > 5) return malformed(v, "unsupported pickle protocol");
            v->pos++;
            break;
        case 0x95: /* FRAME */
            if ((st = need(v, 8))) return st;
            v->pos += 8;
            break;
        case '.': /* STOP */
            if ((st = pop(v, result))) return st;
            return LQF_OK;
        case '(': /* MARK */
            if (!grow((void **)&v->marks, &v->cmark, v->nmark + 1, sizeof(int))) return nomem(v);
            v->marks[v->nmark++] = v->sp;
            break;
        case ']': /* EMPTY_LIST */
            st = push(v, new_obj(v, T_LIST));
            break;
        case ')': /* EMPTY_TUPLE */
            st = push(v, new_obj(v, T_TUPLE));
            break;
        case '}': /* EMPTY_DICT */
            st = push(v, new_obj(v, T_DICT));
            break;
        case 'l': /* LIST */
        case 't': /* TUPLE */
            if ((st = pop_mark(v, &a))) return st;
            st = make_seq(v, op == 'l' ? T_LIST : T_TUPLE, a);
            break;
        case 0x85: /* TUPLE1 */
        case 0x86: /* TUPLE2 */
        case 0x87: /* TUPLE3 */
            if (v->sp - base(v) < op - 0x84) return malformed(v, "stack underflow");
            st = make_seq(v, T_TUPLE, v->sp - (op - 0x84));
            break;
        case 'a': /* APPEND */
            if ((st = pop(v, &a))) return st;
            if (v->sp <= base(v) || v->obj[v->stack[v->sp - 1]].type != T_LIST) return malformed(v, "APPEND to a non-list");
            if (!add_kid(v, v->stack[v->sp - 1], a)) return nomem(v);
            break;
        case 'e': /* APPENDS */
        case 'u': /* SETITEMS */
            if ((st = pop_mark(v, &a))) return st;
            if (a <= base(v) || v->obj[v->stack[a - 1]].type != (op == 'e' ? T_LIST : T_DICT))
                return malformed(v, op == 'e' ? "APPENDS to a non-list" : "SETITEMS to a non-dict");
            if (op == 'u' && (v->sp - a) % 2) return malformed(v, "SETITEMS with an odd item count");
            for (int k = a; k < v->sp; k++)
                if (!add_kid(v, v->stack[a - 1], v->stack[k])) return nomem(v);
            v->sp = a;
            break;
        case 's': /* SETITEM */
            if ((st = pop(v, &b)) || (st = pop(v, &a))) return st;
            if (v->sp <= base(v) || v->obj[v->stack[v->sp - 1]].type != T_DICT) return malformed(v, "SETITEM to a non-dict");
            if (!add_kid(v, v->stack[v->sp - 1], a) || !add_kid(v, v->stack[v->sp - 1], b)) return nomem(v);
            break;
        case 'q': /* BINPUT */
        case 'r': /* LONG_BINPUT */
        case 'h': /* BINGET */
        case 'j': { /* LONG_BINGET */
            uint64_t key;
            if ((st = read_uint(v, op == 'q' || op == 'h' ? 1 : 4, &key))) return st;
            st = op == 'q' || op == 'r' ? memo_put(v, (size_t)key) : memo_get(v, (size_t)key);
            break;
        }
        case 0x94: /* MEMOIZE */
            st = memo_put(v, v->nmemo_set);
            break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *e1 = memchr(q, '\n', v->len - v->pos);
            const uint8_t *e2 = e1 ? memchr(e1 + 1, '\n', (size_t)(v->buf + v->len - (e1 + 1))) : NULL;
            if (!e2) return lqf_fail(LQF_ERR_FORMAT, "%s: truncated pickle (GLOBAL at byte %zu)", v->file, v->op_pos);
            st = push_global(v, (const char *)q, (size_t)(e1 - q), (const char *)e1 + 1, (size_t)(e2 - e1 - 1));
            v->pos = (size_t)(e2 + 1 - v->buf);
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            if ((st = pop(v, &b)) || (st = pop(v, &a))) return st;
            if (v->obj[a].type != T_STR || v->obj[b].type != T_STR) return malformed(v, "STACK_GLOBAL needs two strings");
            st = push_global(v, (const char *)v->obj[a].p, v->obj[a].len, (const char *)v->obj[b].p, v->obj[b].len);
            break;
        case 'R': /* REDUCE */
            st = do_reduce(v);
            break;
        case 'b': /* BUILD */
            st = do_build(v);
            break;
        case 0x88: /* NEWTRUE */
        case 0x89: /* NEWFALSE */
            if ((id = new_obj(v, T_BOOL)) >= 0) v->obj[id].i = op == 0x88;
            st = push(v, id);
            break;
        case 'N': /* NONE */
            st = push(v, new_obj(v, T_NONE));
            break;
        case 'J': /* BININT */
        case 'K': /* BININT1 */
        case 'M': { /* BININT2 */
            uint64_t x;
            if ((st = read_uint(v, op == 'J' ? 4 : op == 'K' ? 1 : 2, &x))) return st;
            if ((id = new_obj(v, T_INT)) >= 0) v->obj[id].i = op == 'J' ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x;
            st = push(v, id);
            break;
        }
        case 0x8a: { /* LONG1 */
            if ((st = need(v, 1))) return st;
            int n = q[0];
            if (n > 8) return malformed(v, "integer wider than 64 bits");
            v->pos++;
            if ((st = need(v, (size_t)n))) return st;
            uint64_t x = n ? rd_le(q + 1, n) : 0;
            if (n && n < 8 && (q[n] & 0x80)) x |= ~(uint64_t)0 << (8 * n); /* sign-extend */
            v->pos += (size_t)n;
            if ((id = new_obj(v, T_INT)) >= 0) v->obj[id].i = (int64_t)x;
            st = push(v, id);
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if ((st = need(v, 8))) return st;
            uint64_t x = 0;
            for (int k = 0; k < 8; k++) x = (x << 8) | q[k];
            v->pos += 8;
            if ((id = new_obj(v, T_FLOAT)) >= 0) memcpy(&v->obj[id].i, &x, 8);
            st = push(v, id);
            break;
        }
        case 'X':    /* BINUNICODE */
        case 0x8c:   /* SHORT_BINUNICODE */
        case 0x8d:   /* BINUNICODE8 */
        case 'T':    /* BINSTRING (Python 2 str) */
        case 'U':    /* SHORT_BINSTRING */
        case 'B':    /* BINBYTES */
        case 'C':    /* SHORT_BINBYTES */
        case 0x8e:   /* BINBYTES8 */
        case 0x96: { /* BYTEARRAY8 (protocol 5 in-band buffers) */
            int n = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e || op == 0x96) ? 8 : 4;
            uint64_t size;
            if ((st = read_uint(v, n, &size))) return st;
            if (op == 'T' && (size & 0x80000000u)) return malformed(v, "negative BINSTRING length");
            if (size > v->len - v->pos)
                return lqf_fail(LQF_ERR_FORMAT, "%s: truncated pickle (string at byte %zu needs %llu bytes, file ends at %zu)",
                                v->file, v->op_pos, (unsigned long long)size, v->len);
            int is_text = op == 'X' || op == 0x8c || op == 0x8d;
            st = push_data(v, is_text ? T_STR : T_BYTES, (size_t)size);
            break;
        }
        default:
            return bad_opcode(v, op);
        }
        if (st) return st;
    }
}

/* ------------------------------------------------------------------ public */
typedef struct {
    uint8_t *file;    /* the file's bytes: images stored in the pickle point into them */
    uint8_t **owned;  /* latin-1 conversions images point into */
    int n_owned;
} bin_storage;

void lqf_bin_free(lqf_bin_pack *b) {
    if (!b) return;
    bin_storage *s = b->storage_;
    if (s) {
        free(s->file);
        for (int k = 0; k < s->n_owned; k++) free(s->owned[k]);
        free(s->owned);
    }
    free(s);
    free(b->image);
    free(b->image_len);
    free(b->issame);
    free(b);
}

static void vm_free(vm *v) {
    for (int k = 0; k < v->nobj; k++) {
        free(v->obj[k].kids);
        if (v->obj[k].owned) free((void *)v->obj[k].p);
    }
    free(v->obj);
    free(v->stack);
    free(v->marks);
    free(v->memo);
}

/* Move the file's bytes and the latin-1 buffers images point into from the vm to s. */
static lqf_status keep_storage(vm *v, const pobj *bins, uint8_t **file, bin_storage *s) {
    int n = 0;
    for (int k = 0; k < v->nobj; k++) n += v->obj[k].owned;
    if (n && !(s->owned = malloc((size_t)n * sizeof *s->owned))) return nomem(v);
    for (int k = 0; k < bins->nk; k++) {
        pobj *o = &v->obj[bins->kids[k]];
        if (o->type == T_NDARRAY) o = &v->obj[o->src];
        if (!o->owned) continue;
        s->owned[s->n_owned++] = (uint8_t *)o->p;
        o->owned = 0; /* now the pack's */
    }
    s->file = *file;
    *file = NULL;
    return LQF_OK;
}

static lqf_status collect(vm *v, int root, uint8_t **file, lqf_bin_pack **out) {
    const pobj *r = &v->obj[root];
    if ((r->type != T_TUPLE && r->type != T_LIST) || r->nk != 2)
        return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (the pickle is not a pair (bins, issame_list))", v->file);
    const pobj *bins = &v->obj[r->kids[0]], *same = &v->obj[r->kids[1]];
    if (bins->type != T_LIST && bins->type != T_TUPLE)
        return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (bins is not a list)", v->file);
    int n_same;
    if (same->type == T_LIST || same->type == T_TUPLE) n_same = same->nk;
    else if (same->type == T_NDARRAY && same->dtype >= 0) n_same = (int)same->len;
    else return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (issame_list is not a list)", v->file);
    if (n_same == 0) return lqf_fail(LQF_ERR_FORMAT, "%s: insightface .bin without pairs", v->file);
    if (bins->nk != 2 * n_same)
        return lqf_fail(LQF_ERR_FORMAT, "%s: insightface .bin with %d images for %d pairs (expected %d)", v->file,
                        bins->nk, n_same, 2 * n_same);
    for (int k = 0; k < bins->nk; k++) {
        const pobj *o = &v->obj[bins->kids[k]];
        if (o->type != T_BYTES && !(o->type == T_NDARRAY && o->dtype >= 0))
            return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (image %d is not bytes or a uint8 array)",
                            v->file, k);
    }
    lqf_bin_pack *b = calloc(1, sizeof *b);
    bin_storage *s = calloc(1, sizeof *s);
    if (b) b->storage_ = s;
    if (!b || !s || !(b->image = malloc((size_t)bins->nk * sizeof *b->image)) ||
        !(b->image_len = malloc((size_t)bins->nk * sizeof *b->image_len)) || !(b->issame = malloc((size_t)n_same))) {
        if (!b) free(s);
        lqf_bin_free(b);
        return nomem(v);
    }
    for (int k = 0; k < bins->nk; k++) { /* shared, not copied */
        const pobj *o = &v->obj[bins->kids[k]];
        b->image[k] = o->p;
        b->image_len[k] = o->len;
    }
    for (int k = 0; k < n_same; k++) {
        int64_t val;
        if (same->type == T_NDARRAY) {
            val = same->p[k];
        } else {
            const pobj *o = &v->obj[same->kids[k]];
            if (o->type != T_BOOL && o->type != T_INT && o->type != T_SCALAR) {
                lqf_bin_free(b);
                return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (issame_list[%d] is not a boolean)", v->file, k);
            }
            val = o->i;
        }
        if (val != 0 && val != 1) {
            lqf_bin_free(b);
            return lqf_fail(LQF_ERR_FORMAT, "%s: not an insightface .bin (issame_list[%d] = %lld is not a boolean)",
                            v->file, k, (long long)val);
        }
        b->issame[k] = (uint8_t)val;
    }
    lqf_status st = keep_storage(v, bins, file, s);
    if (st) {
        lqf_bin_free(b);
        return st;
    }
    b->n_pairs = n_same;
    b->n_images = bins->nk;
    *out = b;
    return LQF_OK;
}

lqf_status lqf_bin_load(const char *path, lqf_bin_pack **out) {
    *out = NULL;
    uint8_t *data;
    size_t len;
    lqf_status st = lqf_read_file(path, &data, &len);
    if (st) return st;
    vm v;
    memset(&v, 0, sizeof v);
    v.file = path, v.buf = data, v.len = len;
    int root = -1;
    st = run_vm(&v, &root);
    if (!st) st = collect(&v, root, &data, out);
    vm_free(&v);
    free(data); /* NULL when the pack kept it */
    return st;
}
