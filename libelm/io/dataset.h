/* Datasets in memory: text records, consistency pairs or multiple-choice
 * questions loaded from JSONL, plain text, paragraphs, JSON lists, the ELM
 * reference's consistency JSON (and its JSONL form) or question files.
 *
 * Text filters follow the reference: texts of at most min_chars code points
 * are dropped, then the rest are cut to max_chars code points (0: no cut).
 * Lengths count Unicode code points, as Python's len() does. Filters apply to
 * TEXT records only; pairs and questions are kept as written.
 *
 * Records live in one arena; handles are reference counted (atomically) so
 * sessions can hold datasets the caller has already freed. */
#ifndef ELM_IO_DATASET_H
#define ELM_IO_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "elm.h"
#include "core/utf8.h"
#include "io/mcq.h"

typedef enum elm_data_format {
    ELM_DATA_AUTO = 0,
    ELM_DATA_JSONL,       /* text / pair / question records, one per line */
    ELM_DATA_TEXT,        /* one record per line */
    ELM_DATA_PARAGRAPHS,  /* records separated by blank lines */
    ELM_DATA_JSON,        /* a list of strings or objects */
    ELM_DATA_CONSISTENCY, /* {"0": [{prompt, consistence_prompt}, ...], ...} or its JSONL form */
    ELM_DATA_MCQ          /* question file, JSON list or JSONL */
} elm_data_format;

typedef struct elm_data_opts {
    elm_data_format format;
    const char *text_field; /* "text" */
    int64_t min_chars;      /* 50 */
    int64_t max_chars;      /* 700; 0: no cut */
} elm_data_opts;

/* Defaults of the data.* keys. */
void elm_data_opts_default(elm_data_opts *o);
/* data.format, data.text_field, data.min_chars, data.max_chars from cfg
 * (NULL: defaults). text_field is borrowed from cfg. */
elm_status elm_data_opts_from_config(const elm_config *cfg, elm_data_opts *o);
/* "jsonl" → ELM_DATA_JSONL, ...; "mcq" is accepted too. */
elm_status elm_data_format_parse(const char *name, elm_data_format *out);

/* Load path. opts NULL: defaults. Ownership: a new handle with one
 * reference; release with elm_dataset_unref. */
elm_status elm_dataset_read(const char *path, const elm_data_opts *opts, elm_dataset **out);

/* Magic tag of a live handle (first field); cleared when the last
 * reference is dropped. */
#define ELM_DATASET_MAGIC 0x53444c45u /* "ELDS" */

/* Validate a public handle for entry points: ELM_E_INVALID naming fn when
 * ds is NULL or its magic tag is wrong (freed or corrupted). */
elm_status elm_dataset_check(const elm_dataset *ds, const char *fn);
/* 1 when ds is non-NULL and carries the magic tag. */
int elm_dataset_valid(const elm_dataset *ds);

/* Take another reference (returns ds; NULL-safe). */
elm_dataset *elm_dataset_ref(elm_dataset *ds);
/* Drop a reference; the last one frees. NULL is a no-op. */
void elm_dataset_unref(elm_dataset *ds);

elm_dataset_kind elm_dataset_kind_of(const elm_dataset *ds);
size_t elm_dataset_count(const elm_dataset *ds);
/* Record i; NULL when out of range or of another kind. Borrowed from ds.
 * For MCQ datasets text_at returns the question. */
const char *elm_dataset_text_at(const elm_dataset *ds, size_t i);
const char *elm_dataset_prompt_at(const elm_dataset *ds, size_t i);
const char *elm_dataset_continuation_at(const elm_dataset *ds, size_t i);
/* Dataset group of pair i (the key of the consistency JSON; 0 for JSONL
 * pairs without a "group" field); -1 when out of range. */
int elm_dataset_group_at(const elm_dataset *ds, size_t i);
/* Number of distinct groups is max group + 1 (0 for non-pair datasets). */
int elm_dataset_n_groups(const elm_dataset *ds);
/* The questions of an MCQ dataset (NULL otherwise). Borrowed from ds. */
const elm_mcq_set *elm_dataset_mcq(const elm_dataset *ds);
/* The path the dataset was loaded from. Borrowed from ds. */
const char *elm_dataset_path(const elm_dataset *ds);

/* ---- helpers shared by the io readers ---------------------------------- */

/* Read a whole file into a NUL-terminated buffer. Ownership: caller free()s. */
elm_status elm_data_read_file(const char *path, char **buf, size_t *len);
/* Check buf is valid UTF-8 (no overlongs, surrogates or > U+10FFFF);
 * ELM_E_FORMAT naming path, line and byte offset otherwise. */
elm_status elm_utf8_check(const char *path, const char *buf, size_t len);
/* 1-based line of byte offset off in buf. */
size_t elm_data_line_of(const char *buf, size_t off);
/* Parse buf (a data file's bytes) as one JSON value with json-c. Errors name
 * path and line (and column): "path:L: invalid JSON at column C: ...",
 * "...: unexpected end of file", "...: data after the end of the document"
 * (then *several = 1: it looks like JSONL). Ownership: *out, json_object_put. */
struct json_object;
elm_status elm_data_parse_json(const char *path, const char *buf, size_t len, struct json_object **out,
                               int *several);

#endif
