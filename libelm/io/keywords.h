/* Keyword files: the concept of an erasure given as keywords, in the shape of
 * the authors' wmdp-keywords.json — a JSON list of strings, or an object of
 * such lists ({"bio": [...], "cyber": [...]}). */
#ifndef ELM_IO_KEYWORDS_H
#define ELM_IO_KEYWORDS_H

#include "elm.h"

/* Read path and set *concept (malloc'd) to the keywords of one list joined
 * by ", ". key names the list of an object; NULL takes a bare list or an
 * object's only list. Errors name the file: ELM_E_IO (cannot read),
 * ELM_E_FORMAT (not JSON, not UTF-8, a duplicate key, wrong shape: the
 * field and item), ELM_E_INVALID (no such key, a key for a bare list, an
 * object of several lists without a key, an empty list). */
elm_status elm_keywords_load(const char *path, const char *key, char **concept);

#endif
