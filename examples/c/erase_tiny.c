/*
 * erase_tiny.c — erase a concept from the tiny fixture model, end to end,
 * through the C API: load, datasets, session, 3 steps printing losses, save
 * the adapter, generate before and after.
 *
 * The same run as examples/python/erase_tiny.py and
 * `cargo run --example erase_tiny`: their "step" lines are identical
 * (examples/check-identical.sh).
 *
 * usage: erase_tiny [REPO_ROOT [OUT_DIR]]
 */
#include <elm.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                               \
    do {                                                                          \
        elm_status st_ = (call);                                                  \
        if (st_ != ELM_OK) {                                                      \
            fprintf(stderr, "%s: %s\n", elm_status_name(st_), elm_last_error()); \
            goto fail;                                                            \
        }                                                                         \
    } while (0)

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* Open a dataset of the erase fixtures and attach it to group `group`. */
static elm_status attach(elm_session *s, const char *data, const char *name, elm_role role, int group,
                         const elm_config *cfg) {
    char *path = join(data, name);
    elm_dataset *ds = NULL;
    elm_status st = elm_dataset_load(path, cfg, &ds);
    if (st == ELM_OK) st = elm_session_attach(s, role, group, ds);
    elm_dataset_free(ds); /* the session keeps its own reference */
    free(path);
    return st;
}

static elm_status generate_one(elm_model *m, const char *prompt, const elm_config *cfg, const char *label) {
    char *out = NULL;
    elm_status st = elm_generate(m, &prompt, 1, cfg, NULL, NULL, &out);
    if (st == ELM_OK) printf("%s: \"%s\"\n", label, out);
    elm_free(out);
    return st;
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    const char *out_dir = argc > 2 ? argv[2] : "/tmp/elm-erase-tiny-c";
    int rc = 1;
    elm_config *cfg = NULL;
    elm_model *model = NULL;
    elm_session *s = NULL;
    char *model_dir = join(root, "tests/fixtures/models/llama-tied");
    char *data = join(root, "tests/fixtures/erase");
    char *init = join(data, "golden_concat/init_adapter");
    char *expert = join(data, "expert.txt");
    char *novice = join(data, "novice.txt");

    if (elm_version() / 10000 != ELM_VERSION_MAJOR) {
        fprintf(stderr, "libelm %s does not match elm.h %d.x\n", elm_version_string(), ELM_VERSION_MAJOR);
        goto fail;
    }

    /* The configuration every front end uses for this example (CPU, fp32). */
    CHECK(elm_config_new(&cfg));
    CHECK(elm_config_set_string(cfg, "runtime.device", "cpu"));
    CHECK(elm_config_set_string(cfg, "runtime.dtype", "float32"));
    CHECK(elm_config_set_int(cfg, "runtime.threads", 1));
    CHECK(elm_config_set_int(cfg, "runtime.seed", 1234));
    CHECK(elm_config_set_int(cfg, "lora.rank", 4));
    CHECK(elm_config_set_double(cfg, "lora.alpha", 8.0));
    CHECK(elm_config_set_double(cfg, "lora.dropout", 0.0));
    CHECK(elm_config_set_string(cfg, "lora.layers", "4-7"));
    CHECK(elm_config_set_string(cfg, "lora.init_from", init));
    CHECK(elm_config_set_double(cfg, "erase.eta", 4.0));
    CHECK(elm_config_set_string(cfg, "erase.template_choice", "cycle"));
    CHECK(elm_config_set_string(cfg, "erase.expert_templates", expert));
    CHECK(elm_config_set_string(cfg, "erase.novice_templates", novice));
    CHECK(elm_config_set_string(cfg, "erase.mix", "0,0,1"));
    CHECK(elm_config_set_int(cfg, "optim.accum", 2));
    CHECK(elm_config_set_double(cfg, "optim.lr", 1e-3));
    CHECK(elm_config_set_string(cfg, "optim.schedule", "cosine"));
    CHECK(elm_config_set_int(cfg, "optim.steps", 3));
    CHECK(elm_config_set_int(cfg, "optim.warmup", 1));
    CHECK(elm_config_set_int(cfg, "gen.max_new_tokens", 16));

    CHECK(elm_model_load(model_dir, cfg, &model));
    elm_model_info info;
    ELM_STRUCT_INIT(&info);
    CHECK(elm_model_get_info(model, &info));
    printf("model %s layers %d vocab %d\n", info.architecture, info.n_layers, info.n_vocab);

    const char *prompt = "Zephyrite is";
    CHECK(generate_one(model, prompt, cfg, "before"));

    CHECK(elm_session_new(model, cfg, &s));
    CHECK(elm_session_set_concept(s, 0, "zephyrite"));
    CHECK(elm_session_set_concept(s, 1, "glowmoss brewing"));
    CHECK(attach(s, data, "forget0.jsonl", ELM_ROLE_FORGET, 0, cfg));
    CHECK(attach(s, data, "forget1.jsonl", ELM_ROLE_FORGET, 1, cfg));
    CHECK(attach(s, data, "retain.jsonl", ELM_ROLE_RETAIN, 0, cfg));
    CHECK(attach(s, data, "retain.jsonl", ELM_ROLE_RETAIN, 1, cfg));
    CHECK(attach(s, data, "consistency.json", ELM_ROLE_CONSISTENCY, 0, cfg));
    for (int i = 0; i < 3; i++) {
        elm_step_stats st;
        ELM_STRUCT_INIT(&st);
        CHECK(elm_session_step(s, &st));
        /* %.9g: nine significant digits, the loss format of every front end */
        printf("step %lld loss %.9g erase %.9g retain %.9g consistency %.9g\n", (long long)st.step, st.loss,
               st.loss_erase, st.loss_retain, st.loss_consistency);
    }
    CHECK(elm_session_save(s, out_dir));
    printf("adapter saved to %s\n", out_dir);

    CHECK(elm_session_apply_to_model(s));
    CHECK(generate_one(model, prompt, cfg, "after"));
    rc = 0;
fail:
    elm_session_free(s);
    elm_model_free(model);
    elm_config_free(cfg);
    free(model_dir);
    free(data);
    free(init);
    free(expert);
    free(novice);
    return rc;
}
