#include "config/schema.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#define I ELM_TYPE_INT
#define D ELM_TYPE_DOUBLE
#define S ELM_TYPE_STRING
#define B ELM_TYPE_BOOL
#define C ELM_TYPE_CHOICE
#define BIG 9.0e15

const elm_schema_entry elm_schema[] = {
#define ELM_KEY(id, key, type, def, min, max, choices, doc) {key, type, def, min, max, choices, doc},
#include "config/keys.def"
#undef ELM_KEY
};

const size_t elm_schema_count = sizeof elm_schema / sizeof elm_schema[0];
_Static_assert(sizeof elm_schema / sizeof elm_schema[0] == ELM_KEY_COUNT, "one id per schema entry");

long elm_schema_index(const char *key)
{
    if (!key)
        return -1;
    for (size_t i = 0; i < elm_schema_count; i++)
        if (strcmp(elm_schema[i].key, key) == 0)
            return (long)i;
    return -1;
}
