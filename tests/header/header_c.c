/* elm.h must compile as strict C11 with -pedantic -Werror on its own. */
#include "elm.h"

int main(void)
{
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    return info.size == sizeof info ? 0 : 1;
}
