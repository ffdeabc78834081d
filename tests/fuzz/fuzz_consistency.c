/* Fuzz the reference's consistency JSON ({"0": [{prompt,
 * consistence_prompt}, ...], ...}) and its JSONL form through the dataset
 * loader with format consistency, and the same file under auto detection.
 * The first byte picks .json / .jsonl and the format. */
#define FZ_NO_DATASET_MAIN
#include "fuzz_dataset.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *name = (data[0] & 1) ? "c.jsonl" : "c.json";
    elm_data_opts o;
    elm_data_opts_default(&o);
    o.format = (data[0] & 2) ? ELM_DATA_AUTO : ELM_DATA_CONSISTENCY;
    const char *path = fz_write(0, name, data + 1, size - 1);
    elm_dataset *ds = NULL;
    elm_status rc = elm_dataset_read(path, &o, &ds);
    fz_check_error(rc);
    if (rc == ELM_OK) {
        fz_walk_dataset(ds);
        if (o.format == ELM_DATA_CONSISTENCY)
            FZ_ASSERT(elm_dataset_kind_of(ds) == ELM_DATASET_PAIRS);
        elm_dataset_unref(ds);
    }
    fz_remove(name);
    return 0;
}
