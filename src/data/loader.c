/*
 * loader.c — the training data pipeline of loader.h: pthread workers take one sample at a
 * time (batch b, position k) from the epoch's permutation, decode it, resize it if needed,
 * augment it under its own generator and write it normalised into the ring slot of batch b;
 * the consumer waits for its batch to complete, compacts skipped samples and hands it out.
 * A slot is reused only after the consumer has moved past its batch, so workers run up to
 * `prefetch` batches ahead and never touch memory the trainer is reading.
 */
#include "data/loader.h"

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    lqf_batch b;            /* handed to the consumer */
    int batch_id;           /* batch of the epoch held here, -1 none */
    int size;               /* samples of that batch before skipping */
    int remaining;          /* samples not finished yet */
    int ready;
    uint8_t *ok;            /* per position: 1 when a sample was written */
    int *fails;             /* per position: failed reads/decodes met */
    size_t *fail_item;      /* per position: the first failing dataset index */
    char (*fail_msg)[256];  /* per position: its message */
} ring_slot;

struct lqf_loader {
    const lqf_dataset *d;
    lqf_loader_options o;
    size_t n_items;
    int nb;                 /* batches per epoch */
    size_t *perm;           /* the epoch's order */
    ring_slot *ring;        /* prefetch slots */
    pthread_t *threads;
    int n_started;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    int epoch, started;
    int next_batch, next_pos; /* next task handed out */
    int consumed;           /* batches given to the consumer */
    int released;           /* batches whose slot may be refilled */
    int in_flight;
    int stop;
    size_t n_failed;
};

void lqf_loader_options_default(lqf_loader_options *o) {
    memset(o, 0, sizeof *o);
    o->batch_size = 64;
    o->shuffle = 1;
    o->n_threads = 2;
    o->prefetch = 4;
    o->width = o->height = 112;
    o->order = LQF_RGB;
    for (int c = 0; c < 3; c++) o->mean[c] = 127.5f, o->std[c] = 127.5f;
    lqf_augment_preset_none(&o->augment);
    lqf_augment_preset_none(&o->augment_hq);
    o->augment_hq.p_flip = 0.5f;
    o->bad = LQF_BAD_SKIP;
}

static int batch_len(const lqf_loader *l, int b) {
    size_t first = (size_t)b * l->o.batch_size;
    size_t left = l->n_items - first;
    return (int)(left < (size_t)l->o.batch_size ? left : (size_t)l->o.batch_size);
}

/* ------------------------------------------------------------------ one sample */
/* Decode item (resized to the output size) into *out. */
static lqf_status load_item(lqf_loader *l, size_t item, lqf_sample *s, lqf_image **out) {
    lqf_image *img = NULL;
    lqf_status st = lqf_dataset_decode(l->d, item, s, l->o.order, &img);
    if (st) return st;
    if (img->width != l->o.width || img->height != l->o.height) {
        lqf_image *r = NULL;
        st = lqf_image_create(l->o.width, l->o.height, l->o.order, &r);
        if (st) {
            lqf_image_free(img);
            return st;
        }
        lqf_resize_bilinear(img->data, img->width, img->height, r->data, r->width, r->height);
        lqf_image_free(img);
        img = r;
    }
    *out = img;
    return LQF_OK;
}

/* Remember the first failure met at position k (the message of this thread's last error). */
static void note_failure(ring_slot *sl, int k, size_t item) {
    if (sl->fails[k]++ == 0) {
        sl->fail_item[k] = item;
        snprintf(sl->fail_msg[k], sizeof sl->fail_msg[k], "%s", lqf_last_error());
    }
}

/* (pixel - mean) / std into x (h, w, 3). */
static void write_normalised(const lqf_loader *l, const lqf_image *img, float *x) {
    size_t hw = (size_t)l->o.width * l->o.height;
    float sc[3], off[3];
    for (int c = 0; c < 3; c++) sc[c] = 1.0f / l->o.std[c], off[c] = l->o.mean[c];
    const uint8_t *p = img->data;
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) x[i * 3 + c] = ((float)p[i * 3 + c] - off[c]) * sc[c];
}

/* Fill position k of batch b (slot sl) of the given epoch. Runs without the lock. */
static void run_task(lqf_loader *l, ring_slot *sl, int b, int k, int epoch, lqf_sample *s) {
    size_t t = (size_t)b * l->o.batch_size + k, item = l->perm[t], used = item;
    lqf_image *img = NULL;
    int tries = 0, max_tries = l->o.bad == LQF_BAD_REPLACE ? (int)LQF_MIN(l->n_items, 64) : 1;
    lqf_status st = LQF_OK;
    sl->fails[k] = 0;
    for (; tries < max_tries; tries++) {
        used = l->perm[(t + tries) % l->n_items];
        st = load_item(l, used, s, &img);
        if (!st) break;
        note_failure(sl, k, used);
    }
    lqf_image *hq = NULL;
    if (st == LQF_OK && l->o.two_views) { /* the second view from the same decoded image */
        st = lqf_image_clone(img, &hq);
        if (!st) {
            lqf_rng rng;
            lqf_rng_seed(&rng, lqf_augment_seed(~l->o.seed, (uint64_t)epoch, item));
            st = lqf_augment_apply(&l->o.augment_hq, hq, &rng, k, l->o.batch_size, NULL);
        }
        if (st) note_failure(sl, k, used);
    }
    if (st == LQF_OK) {
        lqf_rng rng;
        lqf_rng_seed(&rng, lqf_augment_seed(l->o.seed, (uint64_t)epoch, item));
        st = lqf_augment_apply(&l->o.augment, img, &rng, k, l->o.batch_size, NULL);
        if (st) note_failure(sl, k, used);
    }
    sl->ok[k] = st == LQF_OK;
    if (st == LQF_OK) {
        size_t hw = (size_t)l->o.width * l->o.height;
        write_normalised(l, img, sl->b.x + (size_t)k * hw * 3);
        if (hq) write_normalised(l, hq, sl->b.x_hq + (size_t)k * hw * 3);
        sl->b.labels[k] = s->label;
        sl->b.items[k] = used;
    }
    lqf_image_free(hq);
    lqf_image_free(img);
}

static void *worker(void *arg) {
    lqf_loader *l = arg;
    lqf_sample s;
    memset(&s, 0, sizeof s);
    omp_set_num_threads(1); /* the degradations' OpenMP loops run inside this thread */
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !(l->started && l->next_batch < l->nb && l->next_batch < l->released + l->o.prefetch))
            pthread_cond_wait(&l->cv_work, &l->mu);
        if (l->stop) break;
        int b = l->next_batch, k = l->next_pos, epoch = l->epoch;
        ring_slot *sl = &l->ring[b % l->o.prefetch];
        if (k == 0) {
            sl->batch_id = b;
            sl->size = sl->remaining = batch_len(l, b);
            sl->ready = 0;
        }
        if (++l->next_pos == sl->size) l->next_batch++, l->next_pos = 0;
        l->in_flight++;
        pthread_mutex_unlock(&l->mu);
        run_task(l, sl, b, k, epoch, &s);
        pthread_mutex_lock(&l->mu);
        l->in_flight--;
        l->n_failed += (size_t)sl->fails[k];
        if (--sl->remaining == 0) sl->ready = 1;
        pthread_cond_broadcast(&l->cv_done);
    }
    pthread_mutex_unlock(&l->mu);
    lqf_sample_free(&s);
    return NULL;
}

/* ------------------------------------------------------------------ object */
static void slot_free(ring_slot *sl) {
    lqf_free(sl->b.x);
    lqf_free(sl->b.x_hq);
    free(sl->b.labels);
    free(sl->b.items);
    free(sl->ok);
    free(sl->fails);
    free(sl->fail_item);
    free(sl->fail_msg);
}

void lqf_loader_free(lqf_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_started; i++) pthread_join(l->threads[i], NULL);
    if (l->ring)
        for (int i = 0; i < l->o.prefetch; i++) slot_free(&l->ring[i]);
    free(l->ring);
    free(l->threads);
    free(l->perm);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_work);
    pthread_cond_destroy(&l->cv_done);
    free(l);
}

lqf_status lqf_loader_create(const lqf_dataset *d, const lqf_loader_options *o, lqf_loader **out) {
    if (!d || !out) return lqf_fail(LQF_ERR_ARG, "lqf_loader_create: NULL argument");
    *out = NULL;
    lqf_loader_options def;
    if (!o) lqf_loader_options_default(&def), o = &def;
    if (o->batch_size < 1 || o->width < 1 || o->height < 1 || o->width > 4096 || o->height > 4096)
        return lqf_fail(LQF_ERR_ARG, "loader: bad batch size %d or output size %dx%d", o->batch_size, o->width,
                        o->height);
    if (o->order != LQF_RGB && o->order != LQF_BGR) return lqf_fail(LQF_ERR_ARG, "loader: bad channel order %d", o->order);
    for (int c = 0; c < 3; c++)
        if (!(o->std[c] > 0)) return lqf_fail(LQF_ERR_ARG, "loader: std[%d] must be positive", c);
    size_t n = lqf_dataset_count(d);
    if (n == 0) return lqf_fail(LQF_ERR_ARG, "loader: the dataset is empty");
    lqf_loader *l = calloc(1, sizeof *l);
    if (!l) return lqf_fail(LQF_ERR_NOMEM, "loader: out of memory");
    l->d = d;
    l->o = *o;
    l->o.n_threads = LQF_MAX(o->n_threads, 1);
    l->o.prefetch = LQF_MAX(o->prefetch, 1);
    l->n_items = n;
    l->nb = (int)(o->drop_last ? n / (size_t)o->batch_size : (n + (size_t)o->batch_size - 1) / (size_t)o->batch_size);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_done, NULL);
    l->perm = malloc(sizeof(size_t) * n);
    l->ring = calloc((size_t)l->o.prefetch, sizeof *l->ring);
    l->threads = calloc((size_t)l->o.n_threads, sizeof *l->threads);
    int ok = l->perm && l->ring && l->threads;
    size_t B = (size_t)o->batch_size, px = (size_t)o->width * o->height * 3;
    for (int i = 0; ok && i < l->o.prefetch; i++) {
        ring_slot *sl = &l->ring[i];
        sl->batch_id = -1;
        sl->b.x = lqf_alloc(sizeof(float) * B * px);
        sl->b.labels = malloc(sizeof(int) * B);
        sl->b.items = malloc(sizeof(size_t) * B);
        sl->ok = calloc(B, 1);
        sl->fails = calloc(B, sizeof(int));
        sl->fail_item = calloc(B, sizeof(size_t));
        sl->fail_msg = calloc(B, sizeof *sl->fail_msg);
        if (o->two_views) sl->b.x_hq = lqf_alloc(sizeof(float) * B * px);
        ok = sl->b.x && (sl->b.x_hq || !o->two_views) && sl->b.labels && sl->b.items && sl->ok && sl->fails && sl->fail_item && sl->fail_msg;
    }
    if (!ok) {
        lqf_loader_free(l);
        return lqf_fail(LQF_ERR_NOMEM, "loader: out of memory for %d batches of %d", o->prefetch, o->batch_size);
    }
    for (int i = 0; i < l->o.n_threads; i++) {
        if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
            lqf_loader_free(l);
            return lqf_fail(LQF_ERR_NOMEM, "loader: cannot start worker thread %d", i);
        }
        l->n_started++;
    }
    *out = l;
    return LQF_OK;
}

int lqf_loader_num_batches(const lqf_loader *l) { return l ? l->nb : 0; }

size_t lqf_loader_num_failed(const lqf_loader *l) {
    if (!l) return 0;
    pthread_mutex_lock((pthread_mutex_t *)&l->mu);
    size_t n = l->n_failed;
    pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
    return n;
}

lqf_status lqf_loader_start_epoch(lqf_loader *l, int epoch) { return lqf_loader_start_epoch_at(l, epoch, 0); }

lqf_status lqf_loader_start_epoch_at(lqf_loader *l, int epoch, int batch) {
    if (!l) return lqf_fail(LQF_ERR_ARG, "lqf_loader_start_epoch: NULL loader");
    if (batch < 0 || batch > l->nb)
        return lqf_fail(LQF_ERR_ARG, "loader: cannot start at batch %d (an epoch has %d)", batch, l->nb);
    pthread_mutex_lock(&l->mu);
    l->started = 0; /* hand out nothing more; wait for what is running */
    while (l->in_flight > 0) pthread_cond_wait(&l->cv_done, &l->mu);
    l->epoch = epoch;
    for (size_t i = 0; i < l->n_items; i++) l->perm[i] = i;
    if (l->o.shuffle) { /* Fisher-Yates under a generator of (seed, epoch) */
        lqf_rng r;
        lqf_rng_seed(&r, lqf_augment_seed(l->o.seed, (uint64_t)epoch, UINT64_MAX));
        for (size_t i = l->n_items - 1; i > 0; i--) {
            size_t j = (size_t)(lqf_rng_u64(&r) % (uint64_t)(i + 1)), t = l->perm[i];
            l->perm[i] = l->perm[j];
            l->perm[j] = t;
        }
    }
    for (int i = 0; i < l->o.prefetch; i++) l->ring[i].batch_id = -1, l->ring[i].ready = 0;
    l->next_pos = 0;
    l->next_batch = l->consumed = l->released = batch;
    l->started = 1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    return LQF_OK;
}

lqf_status lqf_loader_next(lqf_loader *l, const lqf_batch **out) {
    if (!l || !out) return lqf_fail(LQF_ERR_ARG, "lqf_loader_next: NULL argument");
    *out = NULL;
    pthread_mutex_lock(&l->mu);
    if (!l->started) {
        pthread_mutex_unlock(&l->mu);
        return lqf_fail(LQF_ERR_ARG, "loader: no epoch started (call lqf_loader_start_epoch)");
    }
    if (l->released < l->consumed) { /* the batch returned last time is free again */
        l->released = l->consumed;
        pthread_cond_broadcast(&l->cv_work);
    }
    if (l->consumed >= l->nb) {
        pthread_mutex_unlock(&l->mu);
        return LQF_OK;
    }
    int b = l->consumed;
    ring_slot *sl = &l->ring[b % l->o.prefetch];
    while (!(sl->batch_id == b && sl->ready)) pthread_cond_wait(&l->cv_done, &l->mu);
    l->consumed++;
    pthread_mutex_unlock(&l->mu);
    /* compact (skipped samples), keeping the order; collect the reports in position order */
    size_t px = (size_t)l->o.width * l->o.height * 3;
    int n = 0, nf = 0;
    for (int k = 0; k < sl->size; k++) {
        if (sl->fails[k]) {
            if (nf < LQF_LOADER_MAX_REPORTS) {
                sl->b.failed_item[nf] = sl->fail_item[k];
                memcpy(sl->b.failed_msg[nf], sl->fail_msg[k], sizeof sl->b.failed_msg[nf]);
            }
            nf++;
        }
        if (!sl->ok[k]) continue;
        if (n != k) {
            memcpy(sl->b.x + (size_t)n * px, sl->b.x + (size_t)k * px, sizeof(float) * px);
            if (sl->b.x_hq) memcpy(sl->b.x_hq + (size_t)n * px, sl->b.x_hq + (size_t)k * px, sizeof(float) * px);
            sl->b.labels[n] = sl->b.labels[k];
            sl->b.items[n] = sl->b.items[k];
        }
        n++;
    }
    sl->b.n = n;
    sl->b.index = b;
    sl->b.epoch = l->epoch;
    sl->b.n_failed = nf;
    if (n == 0)
        return lqf_fail(LQF_ERR_FORMAT, "loader: every item of batch %d of epoch %d failed (first: %s)", b, l->epoch,
                        sl->b.failed_msg[0]);
    *out = &sl->b;
    return LQF_OK;
}
