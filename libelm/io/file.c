#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

static elm_status open_error(const char *path, int e)
{
    if (e == ENOENT)
        return elm_err(ELM_E_IO, "%s: no such file", path);
    return elm_err(ELM_E_IO, "%s: cannot open: %s", path, strerror(e));
}

elm_status elm_mmap_open(const char *path, elm_mmap_file *out)
{
    if (!out)
        return elm_err(ELM_E_INVALID, "elm_mmap_open: invalid argument 'out'");
    memset(out, 0, sizeof *out);
    if (!path)
        return elm_err(ELM_E_INVALID, "elm_mmap_open: invalid argument 'path'");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return open_error(path, errno);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return elm_err(ELM_E_IO, "%s: stat failed: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return elm_err(ELM_E_IO, "%s: is a directory", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return elm_err(ELM_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return elm_err(ELM_E_IO, "%s: file too large to map", path);
    }
    char *copy = strdup(path);
    if (!copy) {
        close(fd);
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    }
    void *p = NULL;
    size_t size = (size_t)sb.st_size;
    if (size > 0) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            free(copy);
            return elm_err(e == ENOMEM ? ELM_E_NOMEM : ELM_E_IO, "%s: mmap of %zu bytes failed: %s",
                           path, size, strerror(e));
        }
    }
    close(fd); /* the mapping stays valid */
    out->data = p;
    out->size = size;
    out->path = copy;
    return ELM_OK;
}

void elm_mmap_close(elm_mmap_file *f)
{
    if (!f)
        return;
    if (f->data && f->size)
        munmap((void *)f->data, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}
