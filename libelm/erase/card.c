/* The model card (README.md) of a saved adapter or merged model: YAML
 * metadata in the form the Hugging Face Hub and PEFT read (base_model,
 * library_name, tags), then what the run erased and how. No clock time in
 * it, so the same run writes the same card, resumed or not. */
#include "erase/session.h"

#include "core/error.h"
#include "io/atomic.h"
#include "io/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CARD_STR2(x) #x
#define CARD_STR(x) CARD_STR2(x)
#define ELM_CARD_VERSION CARD_STR(ELM_VERSION_MAJOR) "." CARD_STR(ELM_VERSION_MINOR) "." CARD_STR(ELM_VERSION_PATCH)

const char *elm_erase_base_model(const elm_erase *e)
{
    return e->o.base_model_id && *e->o.base_model_id ? e->o.base_model_id : e->m->path;
}

/* s as a YAML double-quoted scalar (JSON's string syntax, which YAML 1.2
 * reads as is; '/' left unescaped for YAML 1.1 readers). */
static void yaml_str(FILE *f, const char *s)
{
    json_object *o = json_object_new_string(s);
    fputs(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE) : "\"\"", f);
    json_object_put(o);
}

/* s inside a Markdown table cell: '|' escaped, line breaks as spaces. */
static void cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void num(FILE *f, double v)
{
    if (isnan(v))
        fputs("–", f);
    else
        fprintf(f, "%.6g", v);
}

static void change_row(void *ud, const char *key, const char *value)
{
    FILE *f = ud;
    fprintf(f, "| `%s` | ", key);
    cell(f, value);
    fputs(" |\n", f);
}

static const char *group_concept(const elm_erase *e, int g)
{
    const char *c = e->groups && g < e->n_groups ? e->groups[g].concept : NULL;
    return c ? c : e->o.concept;
}

static elm_status card_text(const elm_erase *e, int merged, FILE *f)
{
    const char *obj = elm_objective_name(e->o.objective);
    const int erasing = !e->o.finetune;
    const char *base = elm_erase_base_model(e);
    const int hub = e->o.base_model_id && *e->o.base_model_id;

    fputs("---\n", f);
    if (hub) {
        fputs("base_model: ", f);
        yaml_str(f, base);
        fputc('\n', f);
    }
    fprintf(f, "library_name: %s\npipeline_tag: text-generation\ntags:\n- libelm\n- %s\n",
            merged ? "transformers" : "peft", obj);
    if (erasing)
        fputs("- unlearning\n- concept-erasure\n", f);
    fputs(merged ? "- merged-lora\n" : "- lora\n", f);
    if (hub && !merged) {
        fputs("- ", f);
        char tag[1024];
        snprintf(tag, sizeof tag, "base_model:adapter:%s", base);
        yaml_str(f, tag);
        fputc('\n', f);
    }
    fputs("---\n\n", f);

    fprintf(f, "# %s of %s\n\n", merged ? "Merged model" : "LoRA adapter", hub ? base : "a local base model");
    fprintf(f, "%s made by libelm %s with the `%s` objective (`erase.objective`), %lld optimizer steps "
               "(%lld micro-steps).",
            merged ? "The base model with a LoRA adapter merged into its weights," : "A PEFT LoRA adapter",
            ELM_CARD_VERSION, obj, (long long)e->step, (long long)e->micro);
    if (erasing)
        fputs(" It was trained to erase the concept below: to answer as a model that never learned it, "
              "and to keep everything else.",
              f);
    fputs("\n\n", f);
    fputs("Base model: `", f);
    cell(f, base);
    fputs("`\n\n", f);

    if (erasing) {
        fputs("## Concept\n\n| dataset group | concept |\n|---|---|\n", f);
        for (int g = 0; g < (e->n_groups > 0 ? e->n_groups : 1); g++) {
            fprintf(f, "| %d | ", g);
            cell(f, group_concept(e, g));
            fputs(" |\n", f);
        }
        fputc('\n', f);
    }

    if (e->have_last) {
        const elm_step_stats *s = &e->last;
        fputs("## Last step\n\n| step | loss | erase | retain | consistency | train | grad norm | lr | tokens |\n"
              "|---|---|---|---|---|---|---|---|---|\n",
              f);
        fprintf(f, "| %lld | ", (long long)s->step);
        const double v[] = {s->loss, s->loss_erase, s->loss_retain, s->loss_consistency, s->loss_train,
                            s->grad_norm, s->lr};
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
            num(f, v[i]);
            fputs(" | ", f);
        }
        fprintf(f, "%lld |\n\n", (long long)s->tokens);
    }

    fputs("## Configuration\n\nThe libelm configuration keys that differ from their defaults "
          "(every key: `elm help keys`).\n\n| key | value |\n|---|---|\n",
          f);
    elm_status st = elm_erase_opts_each_key(e->cfg, 1, change_row, f);
    if (st != ELM_OK)
        return st;

    fputs("\n## Use\n\n```python\nfrom transformers import AutoModelForCausalLM\n", f);
    if (merged) {
        fputs("model = AutoModelForCausalLM.from_pretrained(\"path/to/this/directory\")\n", f);
    } else {
        fputs("from peft import PeftModel\n\nbase = AutoModelForCausalLM.from_pretrained(", f);
        yaml_str(f, hub ? base : "path/to/the/base/model");
        fputs(")\nmodel = PeftModel.from_pretrained(base, \"path/to/this/directory\")\n", f);
    }
    fputs("```\n", f);
    return ELM_OK;
}

elm_status elm_erase_write_card(const elm_erase *e, const char *dir, int merged)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return elm_err(ELM_E_NOMEM, "%s: out of memory (model card)", dir);
    elm_status st = card_text(e, merged, f);
    if (fclose(f) != 0 && st == ELM_OK)
        st = elm_err(ELM_E_NOMEM, "%s: out of memory (model card)", dir);
    if (st == ELM_OK) {
        size_t n = strlen(dir) + sizeof "/README.md";
        char *p = malloc(n);
        if (!p) {
            st = elm_err(ELM_E_NOMEM, "%s: out of memory (model card)", dir);
        } else {
            snprintf(p, n, "%s/README.md", dir);
            st = elm_atomic_write_file(p, buf, len);
            free(p);
        }
    }
    free(buf);
    return st;
}
