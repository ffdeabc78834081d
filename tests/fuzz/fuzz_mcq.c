/* Fuzz the multiple-choice question reader (io/mcq.h): elm_mcq_load on the
 * input as a file (JSON list or JSONL chosen by content), and elm_mcq_parse
 * on it in memory in both modes when it is valid UTF-8. */
#include "fuzz_common.h"
#include "io/dataset.h"
#include "io/mcq.h"

static void walk(const elm_mcq_set *q)
{
    size_t n = elm_mcq_count(q);
    for (size_t i = 0; i < n; i++) {
        const char *s = elm_mcq_question(q, i);
        FZ_ASSERT(s);
        fz_touch(s, strlen(s));
        size_t nc = elm_mcq_n_choices(q, i);
        FZ_ASSERT(nc >= 2);
        for (size_t j = 0; j < nc; j++) {
            const char *c = elm_mcq_choice(q, i, j);
            FZ_ASSERT(c);
            fz_touch(c, strlen(c));
        }
        FZ_ASSERT(elm_mcq_choice(q, i, nc) == NULL);
        int a = elm_mcq_answer(q, i);
        FZ_ASSERT(a >= 0 && (size_t)a < nc);
    }
    FZ_ASSERT(elm_mcq_question(q, n) == NULL && elm_mcq_n_choices(q, n) == 0 && elm_mcq_answer(q, n) == -1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "q.json", data, size);
    elm_mcq_set *q = NULL;
    elm_status rc = elm_mcq_load(path, &q);
    fz_check_error(rc);
    if (rc == ELM_OK)
        walk(q);
    elm_mcq_free(q);

    char *buf = fz_strndup(data, size);
    if (elm_utf8_check("q", buf, size) == ELM_OK) {
        for (int jsonl = 0; jsonl < 2; jsonl++) {
            q = NULL;
            rc = elm_mcq_parse("q", buf, size, jsonl, &q);
            fz_check_error(rc);
            if (rc == ELM_OK)
                walk(q);
            elm_mcq_free(q);
        }
    }
    free(buf);
    return 0;
}
