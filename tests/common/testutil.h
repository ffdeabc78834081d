/* Shared helpers for the Check suites. */
#ifndef ELM_TESTUTIL_H
#define ELM_TESTUTIL_H

#include <check.h>
#include <stddef.h>

#include "elm.h"

/* Assert a status is ELM_OK, printing elm_last_error() otherwise. */
#define ck_assert_elm_ok(expr)                                                        \
    do {                                                                              \
        elm_status st_ = (expr);                                                      \
        ck_assert_msg(st_ == ELM_OK, "%s -> %s: %s", #expr, elm_status_name(st_),     \
                      elm_last_error());                                              \
    } while (0)

#define ck_assert_elm_status(expr, want)                                              \
    do {                                                                              \
        elm_status st_ = (expr);                                                      \
        ck_assert_msg(st_ == (want), "%s -> %s (want %s): %s", #expr,                 \
                      elm_status_name(st_), elm_status_name(want), elm_last_error()); \
    } while (0)

/* Path under the source tree ("tests/fixtures/..."), in a static buffer
 * rotated over 8 slots. */
const char *tu_src(const char *rel);
/* Path under ../shared/data next to the source tree; fails the test with the
 * path it looked at if the file is missing. */
const char *tu_shared(const char *name);
/* Path of a fetched artefact under $ELM_CACHE (default ~/.cache/libelm);
 * fails the test saying which script fetches it if missing. */
const char *tu_cache(const char *rel, const char *fetch_script);
/* Fresh empty temporary directory (removed by tu_rmtree). */
char *tu_tmpdir(void);
void tu_rmtree(const char *path);
/* Read a whole file (NUL-terminated); fails the test if unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* Run a suite and return the process exit code (0 if all passed). */
int tu_run(Suite *s);

#endif
