#include "io/st_tensor.h"

#include <stddef.h>

/* The pairs: both directions read this one table. */
static const struct {
    elm_st_dtype st;
    et_dtype et;
} pairs[] = {
    {ELM_ST_F64, ET_F64}, {ELM_ST_F32, ET_F32}, {ELM_ST_F16, ET_F16}, {ELM_ST_BF16, ET_BF16},
    {ELM_ST_I64, ET_I64}, {ELM_ST_I32, ET_I32}, {ELM_ST_U8, ET_U8},   {ELM_ST_BOOL, ET_BOOL},
};

int elm_st_dtype_to_et(elm_st_dtype s, et_dtype *out)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].st == s) {
            *out = pairs[i].et;
            return 1;
        }
    return 0;
}

int elm_st_dtype_from_et(et_dtype e, elm_st_dtype *out)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].et == e) {
            *out = pairs[i].st;
            return 1;
        }
    return 0;
}
