/* Consistency pairs generated during training (erase.consistency = online):
 * pair (group, k) is the entry `elm prepare-consistency` makes from forget
 * text k of that group (prepare.c: erase-guided, seeded per entry, with the
 * frozen model), made the first time training asks for it and kept — in
 * memory, and in erase.consistency_cache's JSONL journal when one is given —
 * so a second epoch and a resumed run reuse it (online.c). */
#ifndef ELM_GENERATE_ONLINE_H
#define ELM_GENERATE_ONLINE_H

#include <stddef.h>

#include "generate/generate.h"
#include "model/model.h"

typedef struct elm_cons_online elm_cons_online;

/* A source over model m (referenced) with options o (o->concept unused: each
 * call names its group's concept) and templates tp (copied). cache_path NULL
 * or empty: memory only. The file is read at the first call. */
elm_status elm_cons_online_new(elm_model *m, const elm_prepare_opts *o, const elm_guide_templates *tp,
                               const char *cache_path, elm_cons_online **out);
/* The pair for forget text `index` (its text) of `group`: made now, or taken
 * from the cache after checking it was made from the same text, concept and
 * settings (else ELM_E_STATE naming the file). The strings stay valid until
 * elm_cons_online_free. The global torch generator is left as found. */
elm_status elm_cons_online_get(elm_cons_online *c, int group, size_t index, const char *text, const char *concept,
                               const char **prompt, const char **cont);
/* How many pairs this source generated (not taken from the cache). */
size_t elm_cons_online_generated(const elm_cons_online *c);
void elm_cons_online_free(elm_cons_online *c);

#endif
