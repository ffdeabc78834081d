/* The io layer's one configuration reader: elm_data_opts from data.*. */
#include "io/dataset.h"

#include "config/config.h"
#include "core/error.h"

elm_status elm_data_opts_from_config(const elm_config *cfg, elm_data_opts *o)
{
    const char *s;
    ELM_CHECK_ARG(o, "opts");
    elm_data_opts_default(o);
    ELM_TRY(elm_config_string(cfg, ELM_KEY_DATA_FORMAT, &s));
    ELM_TRY(elm_data_format_parse(s, &o->format));
    ELM_TRY(elm_config_string(cfg, ELM_KEY_DATA_TEXT_FIELD, &o->text_field));
    if (!o->text_field || !o->text_field[0])
        return elm_err(ELM_E_INVALID, "data.text_field: must not be empty");
    ELM_TRY(elm_config_int(cfg, ELM_KEY_DATA_MIN_CHARS, &o->min_chars));
    ELM_TRY(elm_config_int(cfg, ELM_KEY_DATA_MAX_CHARS, &o->max_chars));
    return ELM_OK;
}
