/* Fuzz the config text setter (elm_config_set) and the schema lookups: the
 * input is lines of key=value applied in order to one config; after each
 * accepted value the text read back must set again to the same text (the
 * round trip the CLI and the bindings rely on). Keys are also looked up by
 * elm_config_find_key (which suggests close names on a miss). */
#include "fuzz_common.h"

static void one(elm_config *cfg, const char *key, const char *val)
{
    elm_key_info info;
    ELM_STRUCT_INIT(&info);
    elm_status rc = elm_config_find_key(key, &info);
    fz_check_error(rc);
    rc = elm_config_set(cfg, key, val);
    fz_check_error(rc);
    if (rc != ELM_OK)
        return;
    char *text = NULL;
    rc = elm_config_get_text(cfg, key, &text);
    FZ_ASSERT(rc == ELM_OK && text);
    /* the value as read back is accepted again and reads back the same */
    elm_config *c2 = NULL;
    FZ_ASSERT(elm_config_new(&c2) == ELM_OK);
    rc = elm_config_set(c2, key, text);
    if (rc != ELM_OK) {
        fprintf(stderr, "key '%s': value '%s' read back as '%s', which elm_config_set refuses: %s\n", key, val, text,
                elm_last_error());
        abort();
    }
    char *text2 = NULL;
    FZ_ASSERT(elm_config_get_text(c2, key, &text2) == ELM_OK && text2);
    if (strcmp(text, text2) != 0) {
        fprintf(stderr, "key '%s': '%s' -> '%s' -> '%s' (not a fixed point)\n", key, val, text, text2);
        abort();
    }
    elm_free(text2);
    elm_free(text);
    elm_config_free(c2);
    int64_t i;
    double d;
    int b;
    const char *s;
    fz_check_error(elm_config_get_int(cfg, key, &i));
    fz_check_error(elm_config_get_double(cfg, key, &d));
    fz_check_error(elm_config_get_bool(cfg, key, &b));
    if (elm_config_get_string(cfg, key, &s) == ELM_OK)
        fz_touch(s, strlen(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fz_strndup(data, size);
    elm_config *cfg = NULL;
    FZ_ASSERT(elm_config_new(&cfg) == ELM_OK);
    /* lines; a NUL inside the input ends the C string of that line early */
    char *line = buf, *end = buf + size;
    int n = 0;
    while (line <= end && n < 64) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl)
            *nl = 0;
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = 0;
            one(cfg, line, eq + 1);
        } else {
            one(cfg, line, "");
        }
        n++;
        if (!nl)
            break;
        line = nl + 1;
    }
    elm_config *copy = NULL;
    FZ_ASSERT(elm_config_clone(cfg, &copy) == ELM_OK);
    elm_config_free(copy);
    elm_config_free(cfg);
    free(buf);
    return 0;
}
