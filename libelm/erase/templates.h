/* Expert / novice prefixes of the erase target: libelm's built-in sets and
 * user files (one prefix per line, "\n" written as backslash-n, blank lines
 * skipped, each must contain {concept}). */
#ifndef ELM_ERASE_TEMPLATES_H
#define ELM_ERASE_TEMPLATES_H

#include <stddef.h>

#include "elm.h"

#define ELM_BUILTIN_TEMPLATES 10
extern const char *const elm_builtin_expert[ELM_BUILTIN_TEMPLATES];
extern const char *const elm_builtin_novice[ELM_BUILTIN_TEMPLATES];

typedef struct elm_template_set {
    char **items;
    size_t n;
} elm_template_set;

/* path NULL or "": a copy of `builtin`. Errors name the file and line
 * (`key` names the config key in messages). */
elm_status elm_templates_load(const char *path, const char *key, const char *const *builtin,
                              size_t n_builtin, elm_template_set *out);
/* The same file format without the {concept} rule (the change-of-subject
 * sentences of prepare.redirect_sentences). */
elm_status elm_lines_load(const char *path, const char *key, const char *const *builtin, size_t n_builtin,
                          elm_template_set *out);
void elm_templates_free(elm_template_set *t);
/* tmpl with every {concept} replaced. Ownership: caller free()s; NULL: OOM. */
char *elm_template_fill(const char *tmpl, const char *concept);

#endif
