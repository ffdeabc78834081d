/* Multiple-choice question sets: {question, choices: [...], answer} records
 * from a JSON list or JSONL. The answer may be a 0-based index, a letter
 * ("A".."Z", the choice at that position) or the text of one of the choices;
 * it is stored as an index. Any number of choices >= 2.
 *
 * Every string lives in one arena owned by the set; getters return borrowed
 * pointers valid until elm_mcq_free. */
#ifndef ELM_IO_MCQ_H
#define ELM_IO_MCQ_H

#include <stddef.h>

#include "elm.h"

struct json_object;

typedef struct elm_mcq_set elm_mcq_set;

/* Load a question file (JSON list or JSONL, chosen by content). Errors name
 * the file, the record index (JSON) or line (JSONL), and the field.
 * Ownership: caller frees with elm_mcq_free. */
elm_status elm_mcq_load(const char *path, elm_mcq_set **out);
/* Parse an in-memory file already read and UTF-8 checked; `path` is used in
 * messages only. `jsonl`: one record per line, else one JSON list. */
elm_status elm_mcq_parse(const char *path, const char *buf, size_t len, int jsonl,
                         elm_mcq_set **out);
void elm_mcq_free(elm_mcq_set *set);

size_t elm_mcq_count(const elm_mcq_set *set);
/* Record i (i < count; out of range returns NULL / 0 / -1). */
const char *elm_mcq_question(const elm_mcq_set *set, size_t i);
size_t elm_mcq_n_choices(const elm_mcq_set *set, size_t i);
const char *elm_mcq_choice(const elm_mcq_set *set, size_t i, size_t j);
/* 0-based index of the correct choice. */
int elm_mcq_answer(const elm_mcq_set *set, size_t i);

/* Building blocks shared with io/dataset.c. */
elm_status elm_mcq_new(elm_mcq_set **out);
/* Append one record; `where` prefixes messages ("q.json: record 3" or
 * "q.jsonl:12"). */
elm_status elm_mcq_add(elm_mcq_set *set, struct json_object *rec, const char *where);
/* True if `rec` looks like a question record (has "question" and "choices"). */
int elm_mcq_is_record(struct json_object *rec);

#endif
