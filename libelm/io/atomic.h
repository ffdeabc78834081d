/* Atomic file and directory writes.
 *
 * Files: data goes to a temporary ".name.tmp.XXXXXX" in the target's own
 * directory (so rename stays on one file system); commit flushes, fsyncs the
 * file, renames it over the target and fsyncs the directory. A reader sees
 * either the old file or the complete new one, never a torn write.
 *
 * Directories (multi-file outputs such as adapter or model folders):
 *   elm_atomic_dir_begin("out/adapter", &tmp)   -> "out/.adapter.tmp.XXXXXX"
 *   ... write files inside tmp (plain writes are fine: the whole directory
 *       is fsynced at commit) ...
 *   elm_atomic_dir_commit(tmp, "out/adapter")
 * Begin first applies the recovery rule below (with clean-up), so every save
 * starts from one complete final directory and no siblings. Commit, when the
 * final directory exists, renames it straight to ".adapter.old.<random>" (a
 * single rename: no placeholder is created first, so a crash never leaves an
 * empty backup), renames the new one into place, then removes the backup.
 * A crash at any point therefore leaves either the complete old or the
 * complete new directory: under the final name, or (between the two renames)
 * as the one backup that recovery puts back.
 *
 * Recovery rule after a crash:
 *   - "adapter" exists            -> it is complete (old or new); any
 *                                    ".adapter.tmp.*" / ".adapter.old.*"
 *                                    siblings are leftovers (a backup may be
 *                                    half-removed) and are removed;
 *   - "adapter" missing           -> the crash came between the two renames:
 *                                    the backup is the complete old directory
 *                                    and is renamed back. Empty backups are
 *                                    never restored; of several non-empty ones
 *                                    (left by older versions of this code) the
 *                                    newest (mtime) wins. The rest are removed.
 * A ".adapter.tmp.*" directory is never trusted: it may be half-written; the
 * clean-up removes it. Writers apply the rule (elm_atomic_dir_begin); loaders
 * call elm_atomic_dir_prepare_read, which only restores a missing directory.
 * Concurrent writers of one final directory are not supported: a writer's
 * clean-up removes another's temporary. */
#ifndef ELM_IO_ATOMIC_H
#define ELM_IO_ATOMIC_H

#include <stddef.h>
#include <stdio.h>

#include "elm.h"

typedef struct elm_atomic_file {
    FILE *fp;        /* write through this (or the helpers below) */
    char *path;      /* final path (owned) */
    char *tmp_path;  /* temporary path (owned) */
    int failed;      /* a helper write failed; commit refuses */
} elm_atomic_file;

/* Create the temporary file next to path. On error f is left closed. */
elm_status elm_atomic_open(const char *path, elm_atomic_file *f);
/* Write helpers; errors name the final path. */
elm_status elm_atomic_write(elm_atomic_file *f, const void *data, size_t len);
elm_status elm_atomic_puts(elm_atomic_file *f, const char *s);
elm_status elm_atomic_printf(elm_atomic_file *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* fflush + fsync + rename + fsync(dir). Frees f's resources whether or not it
 * succeeds; on failure the temporary file is removed and the target is left
 * as it was. */
elm_status elm_atomic_commit(elm_atomic_file *f);
/* Close and unlink the temporary file; the target is untouched. NULL-safe,
 * and a no-op on an already committed/aborted f. */
void elm_atomic_abort(elm_atomic_file *f);

/* Whole file in one call. */
elm_status elm_atomic_write_file(const char *path, const void *data, size_t len);

/* Directory form (see the top of this file). *tmpdir is malloc'd; it is freed
 * by elm_atomic_dir_commit / elm_atomic_dir_abort. */
elm_status elm_atomic_dir_begin(const char *final_dir, char **tmpdir);
elm_status elm_atomic_dir_commit(char *tmpdir, const char *final_dir);
void elm_atomic_dir_abort(char *tmpdir);
/* Apply the recovery rule to final_dir (see the top of this file): if it is
 * missing, rename the newest non-empty backup ".name.old.*" back; then remove
 * every other ".name.old.*" and every ".name.tmp.*" sibling. A missing parent
 * directory is not an error (nothing to recover). */
elm_status elm_atomic_dir_recover(const char *final_dir);
/* The loaders' side of the rule, to call before reading final_dir: when
 * final_dir exists this is a single lstat and changes nothing; when it is
 * missing and a non-empty backup exists, the newest one is renamed back.
 * It never removes anything (a temporary may be a running writer's). */
elm_status elm_atomic_dir_prepare_read(const char *final_dir);

/* fsync a directory by path (used by the writers above). */
elm_status elm_fsync_dir(const char *dir);

#endif
