/*
 * backend.c — the default backend: the one new executors and executor-less callers (training
 * heads, optimisers, the CLI) use. The CPU backend until a caller chooses another.
 */
#include "backend/backend.h"

static const lqf_backend *chosen;

const lqf_backend *lqf_backend_default(void) { return chosen ? chosen : lqf_backend_cpu(); }

void lqf_backend_set_default(const lqf_backend *b) { chosen = b; }
