// elm.h must compile as C++ (extern "C", no C-only constructs).
#include "elm.h"

int main()
{
    elm_step_stats st;
    ELM_STRUCT_INIT(&st);
    elm_status s = ELM_OK;
    return (st.size == sizeof st && s == ELM_OK) ? 0 : 1;
}
