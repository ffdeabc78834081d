/* Fuzz the dataset loader (io/dataset.h): the first byte picks the format
 * (auto, jsonl, text, paragraphs, json, consistency, mcq), the file's
 * extension (which auto looks at), the text field and the length filters;
 * the rest is the file. Every record of the result is read back. */
#include "fuzz_common.h"
#include "io/dataset.h"

void fz_walk_dataset(const elm_dataset *ds);
void fz_walk_dataset(const elm_dataset *ds)
{
    size_t n = elm_dataset_count(ds);
    FZ_ASSERT(n > 0);
    elm_dataset_kind k = elm_dataset_kind_of(ds);
    for (size_t i = 0; i <= n; i++) {
        const char *t = elm_dataset_text_at(ds, i), *p = elm_dataset_prompt_at(ds, i),
                   *c = elm_dataset_continuation_at(ds, i);
        if (i == n) {
            FZ_ASSERT(!t && !p && !c && elm_dataset_group_at(ds, i) == -1);
            break;
        }
        if (t)
            fz_touch(t, strlen(t) + 1);
        if (p)
            fz_touch(p, strlen(p) + 1);
        if (c)
            fz_touch(c, strlen(c) + 1);
        if (k == ELM_DATASET_TEXT)
            FZ_ASSERT(t != NULL);
        if (k == ELM_DATASET_PAIRS) {
            FZ_ASSERT(p && c);
            int g = elm_dataset_group_at(ds, i);
            FZ_ASSERT(g >= 0 && g < elm_dataset_n_groups(ds));
        }
    }
    const elm_mcq_set *q = elm_dataset_mcq(ds);
    FZ_ASSERT((k == ELM_DATASET_MCQ) == (q != NULL));
    if (q) {
        FZ_ASSERT(elm_mcq_count(q) == n);
        for (size_t i = 0; i < n; i++) {
            const char *s = elm_mcq_question(q, i);
            FZ_ASSERT(s);
            fz_touch(s, strlen(s));
            size_t nc = elm_mcq_n_choices(q, i);
            FZ_ASSERT(nc >= 2);
            for (size_t j = 0; j < nc; j++) {
                const char *ch = elm_mcq_choice(q, i, j);
                FZ_ASSERT(ch);
                fz_touch(ch, strlen(ch));
            }
            FZ_ASSERT(elm_mcq_choice(q, i, nc) == NULL);
            int a = elm_mcq_answer(q, i);
            FZ_ASSERT(a >= 0 && (size_t)a < nc);
        }
    }
    fz_touch(elm_dataset_path(ds), strlen(elm_dataset_path(ds)));
}

#ifndef FZ_NO_DATASET_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const elm_data_format formats[8] = {ELM_DATA_AUTO, ELM_DATA_JSONL, ELM_DATA_TEXT,
                                               ELM_DATA_PARAGRAPHS, ELM_DATA_JSON, ELM_DATA_CONSISTENCY,
                                               ELM_DATA_MCQ, ELM_DATA_AUTO};
    static const char *const names[4] = {"d.jsonl", "d.json", "d.txt", "d"};
    static const int64_t mins[4] = {0, 1, 50, 3};
    static const int64_t maxs[2] = {0, 700};
    uint8_t sel = data[0];
    elm_data_opts o;
    elm_data_opts_default(&o);
    o.format = formats[sel & 7];
    const char *name = names[(sel >> 3) & 3];
    o.min_chars = mins[(sel >> 5) & 3];
    o.max_chars = (sel & 0x80) ? 5 : maxs[(sel >> 5) & 1];
    o.text_field = (sel & 0x10) ? "content" : "text";
    const char *path = fz_write(0, name, data + 1, size - 1);
    elm_dataset *ds = NULL;
    elm_status rc = elm_dataset_read(path, &o, &ds);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        fz_walk_dataset(ds);
        if (o.max_chars > 0 && elm_dataset_kind_of(ds) == ELM_DATASET_TEXT)
            for (size_t i = 0; i < elm_dataset_count(ds); i++) {
                const char *t = elm_dataset_text_at(ds, i);
                size_t cps = elm_utf8_count(t, strlen(t));
                /* filter first (> min_chars), then cut (max_chars), as the reference */
                FZ_ASSERT(cps <= (size_t)o.max_chars);
                FZ_ASSERT(cps > (size_t)o.min_chars || cps == (size_t)o.max_chars);
            }
        elm_dataset *r = elm_dataset_ref(ds);
        elm_dataset_unref(ds);
        elm_dataset_unref(r);
    } else {
        FZ_ASSERT(ds == NULL);
    }
    fz_remove(name);
    return 0;
}
#endif
