/* Shared helpers of the fuzz targets (libFuzzer entry points, also built
 * with tests/fuzz/replay_main.c into plain replay executables).
 *
 * Most libelm readers take a path (they mmap or read whole files), so a
 * target writes its input to a file in a private temporary directory
 * (under $ELM_FUZZ_TMP, /dev/shm when writable, else $TMPDIR or /tmp) and
 * hands that path over. Multi-file inputs (tokenizer.json +
 * tokenizer_config.json, adapter_config.json + adapter_model.safetensors)
 * are one fuzz input cut at FZ_SEP. */
#ifndef ELM_FUZZ_COMMON_H
#define ELM_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elm.h"

#define FZ_SEP "\n--ELM-SPLIT--\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef ELM_SOURCE_ROOT
#define ELM_SOURCE_ROOT "."
#endif

/* Abort with a message: a broken invariant the sanitizers cannot see. */
#define FZ_ASSERT(c)                                                                        \
    do {                                                                                    \
        if (!(c)) {                                                                         \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

static char fz_dir_path[4096];

static inline void fz_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[4400];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
                continue;
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                fz_rmtree(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static inline void fz_cleanup(void)
{
    if (fz_dir_path[0])
        fz_rmtree(fz_dir_path);
}

/* The private directory (created on first use, removed at exit). */
static inline const char *fz_dir(void)
{
    if (fz_dir_path[0])
        return fz_dir_path;
    const char *base = getenv("ELM_FUZZ_TMP");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    if (snprintf(fz_dir_path, sizeof fz_dir_path, "%s/elm-fuzz.XXXXXX", base) >= (int)sizeof fz_dir_path)
        abort();
    if (!mkdtemp(fz_dir_path)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir_path;
}

/* Path of `name` inside the private directory. Ownership: static buffer
 * per slot (0..7), valid until the next call with the same slot. */
static inline const char *fz_path(int slot, const char *name)
{
    static char buf[8][4300];
    if (snprintf(buf[slot & 7], sizeof buf[0], "%s/%s", fz_dir(), name) >= (int)sizeof buf[0])
        abort();
    return buf[slot & 7];
}

/* Write data to `name` in the private directory; returns its path (slot as
 * in fz_path). */
static inline const char *fz_write(int slot, const char *name, const void *data, size_t size)
{
    const char *p = fz_path(slot, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(p);
        abort();
    }
    const char *c = data;
    while (size > 0) {
        ssize_t w = write(fd, c, size);
        if (w <= 0) {
            perror(p);
            abort();
        }
        c += w;
        size -= (size_t)w;
    }
    close(fd);
    return p;
}

static inline void fz_remove(const char *name)
{
    unlink(fz_path(7, name));
}

/* Cut data at the first `FZ_SEP`: part 0 before it, part 1 after it.
 * Returns the number of parts (1 or 2). */
static inline int fz_split(const uint8_t *data, size_t size, const uint8_t **p0, size_t *n0, const uint8_t **p1,
                    size_t *n1)
{
    const size_t k = sizeof FZ_SEP - 1;
    *p0 = data;
    *n0 = size;
    *p1 = NULL;
    *n1 = 0;
    for (size_t i = 0; i + k <= size; i++)
        if (data[i] == FZ_SEP[0] && memcmp(data + i, FZ_SEP, k) == 0) {
            *n0 = i;
            *p1 = data + i + k;
            *n1 = size - i - k;
            return 2;
        }
    return 1;
}

/* A NUL-terminated copy. Ownership: caller free()s. */
static inline char *fz_strndup(const void *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* Read every byte of [p, p+n) so that an out-of-bounds range faults or is
 * reported by ASan; the sum defeats the optimiser. */
static volatile unsigned fz_sink;
static inline void fz_touch(const void *p, size_t n)
{
    const volatile unsigned char *c = p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += c[i];
    fz_sink += s;
}

/* Every failure must leave a message (the library's contract). */
static inline void fz_check_error(elm_status st)
{
    const char *m = elm_last_error();
    FZ_ASSERT(m != NULL);
    if (st != ELM_OK)
        FZ_ASSERT(m[0] != 0);
    fz_touch(m, strlen(m));
}

#endif
