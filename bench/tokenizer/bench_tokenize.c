/* bench_tokenize — libelm encoding throughput on a JSONL corpus ({"text": ...}
 * per line), one thread. Usage: bench_tokenize TOKENIZER CORPUS.jsonl [REPS]
 * Prints: "<MB/s> <bytes> <ids>" on stdout. Built and run by bench/tokenizer/run. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "elm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TOKENIZER CORPUS.jsonl [REPS]\n", argv[0]);
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    elm_tokenizer *t;
    if (elm_tokenizer_load(argv[1], NULL, &t) != ELM_OK) {
        fprintf(stderr, "%s\n", elm_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    size_t cap = 8192, n = 0, bytes = 0;
    char **texts = malloc(cap * sizeof *texts);
    size_t *lens = malloc(cap * sizeof *lens);
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_object *o = json_tokener_parse(line), *v;
        if (!o || !json_object_object_get_ex(o, "text", &v))
            continue;
        if (n == cap) {
            cap *= 2;
            texts = realloc(texts, cap * sizeof *texts);
            lens = realloc(lens, cap * sizeof *lens);
        }
        lens[n] = (size_t)json_object_get_string_len(v);
        texts[n] = malloc(lens[n] + 1);
        memcpy(texts[n], json_object_get_string(v), lens[n] + 1);
        bytes += lens[n++];
        json_object_put(o);
    }
    fclose(f);
    free(line);
    size_t total_ids = 0;
    double best = 1e30;
    for (int r = 0; r < reps; r++) { /* best of reps (the first also warms the word cache, as HF's) */
        double t0 = now();
        size_t ids_n = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t *ids;
            size_t k;
            if (elm_tokenizer_encode(t, texts[i], lens[i], ELM_TOKENIZE_PARSE_SPECIAL, &ids, &k) != ELM_OK) {
                fprintf(stderr, "%s\n", elm_last_error());
                return 1;
            }
            ids_n += k;
            elm_free(ids);
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
        total_ids = ids_n;
    }
    printf("%.2f %zu %zu\n", bytes / best / 1e6, bytes, total_ids);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(lens);
    elm_tokenizer_free(t);
    return 0;
}
