/* Read-only whole-file memory mapping. */
#ifndef ELM_IO_FILE_H
#define ELM_IO_FILE_H

#include <stddef.h>

#include "elm.h"

typedef struct elm_mmap_file {
    const unsigned char *data; /* NULL for an empty file */
    size_t size;
    char *path; /* owned copy, for messages */
} elm_mmap_file;

/* Map path read-only. Errors name the path: ENOENT → ELM_E_IO
 * "path: no such file", a directory → ELM_E_IO "path: is a directory". */
elm_status elm_mmap_open(const char *path, elm_mmap_file *out);
/* Unmap and free; NULL-safe and idempotent. */
void elm_mmap_close(elm_mmap_file *f);

#endif
