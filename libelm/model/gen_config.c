#include "model/gen_config.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "io/json.h"

void elm_gen_defaults_hf(elm_gen_defaults *d)
{
    d->temperature = 1.0;
    d->top_k = 50;
    d->top_p = 1.0;
    d->from_file = 0;
}

elm_status elm_gen_defaults_load(const char *dir, elm_gen_defaults *d)
{
    char path[8192];
    struct stat sb;
    elm_gen_defaults_hf(d);
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? ELM_OK : elm_err(ELM_E_IO, "%s: cannot stat", path);
    json_object *root = NULL;
    ELM_TRY(elm_json_parse_file(path, &root));
    elm_status st = ELM_OK;
    if (!json_object_is_type(root, json_type_object))
        st = elm_err(ELM_E_FORMAT, "%s: the top level must be an object, not %s", path, elm_json_type_name(root));
    json_object *k = NULL;
    int top_k_null = st == ELM_OK && json_object_object_get_ex(root, "top_k", &k) && k == NULL;
    if (st == ELM_OK)
        st = elm_json_opt_double(path, root, "temperature", d->temperature, &d->temperature);
    if (st == ELM_OK)
        st = elm_json_opt_int(path, root, "top_k", d->top_k, &d->top_k);
    if (st == ELM_OK)
        st = elm_json_opt_double(path, root, "top_p", d->top_p, &d->top_p);
    json_object_put(root);
    ELM_TRY(st);
    if (top_k_null)
        d->top_k = 0;
    if (!(d->temperature >= 0 && d->temperature <= 1e6))
        return elm_err(ELM_E_FORMAT, "%s: field 'temperature' = %g is outside [0, 1e6]", path, d->temperature);
    if (d->top_k < 0)
        return elm_err(ELM_E_FORMAT, "%s: field 'top_k' = %lld is negative", path, (long long)d->top_k);
    if (!(d->top_p >= 0 && d->top_p <= 1))
        return elm_err(ELM_E_FORMAT, "%s: field 'top_p' = %g is outside [0, 1]", path, d->top_p);
    d->from_file = 1;
    return ELM_OK;
}
