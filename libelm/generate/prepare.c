/* Consistency data (method §4): for each forget text i, an erase-guided
 * continuation, stored as {"prompt": cut, "consistence_prompt":
 * ". {sentence} {generated}"} under the group's key.
 *
 * Per entry (all draws from a stream seeded by (gen.seed, group, i), so a
 * resumed run writes exactly what an uninterrupted one would):
 *   cut       = the text's first U[min_cut, max_cut] code points (clamped to
 *               the text, as prepare_consistency_data's prompt[:k]); the whole
 *               text under prepare.cut = whole, or auto online (erase.py's
 *               online path draws a length and then uses the whole text)
 *   sentence  = one of the change-of-subject sentences (the built-in 20 or
 *               the lines of prepare.redirect_sentences)
 *   expert / novice template (prefix with the trailing ":\n" removed)
 *   n_new     = U[min_new_tokens, max_new_tokens]
 *   p         = cut + ". " + sentence   (tokenized with the tokenizer's specials)
 *   (prepare.join = reference: the continuation is instead what erase.py
 *   keeps, g = decode(p ids ⊕ generated ids).replace(p, "") with nothing
 *   stripped: for a file g.replace(cut, "") alone (prepare_consistency_data:
 *   the sentence is in the generator's prompt only), online ". " + sentence
 *   + " " + g (erase.py's train loop))
 *   generated = erase-guided sampling (γ = prepare.guidance), the guided score
 *               through temperature → top-k → top-p (prepare.temperature,
 *               top_k, top_p; -1: the model's generation_config.json, else
 *               transformers' 1 / 50 / 1; top_k defaults to 0, off, as
 *               erase.py passes top_k=None), stops early at EOS;
 *               its text is decoded without specials and stripped of leading
 *               whitespace so the stored string has single spaces.
 * The torch generator is seeded per entry too (et_manual_seed).
 *
 * Files: reference JSON ({"<group>": [...]}, other groups' lists kept as they
 * are — the reference overwrote them) or JSONL (".jsonl": one object per
 * line with "group", "prompt", "consistence_prompt"). Rewritten atomically
 * after every entry, so an interrupted run leaves a valid partial file that
 * the next run resumes (entries already present for the group are skipped). */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/str.h"
#include "generate/generate.h"
#include "io/atomic.h"
#include "io/dataset.h"
#include "io/json.h"
#include "tokenizer/tokenizer.h"

uint64_t elm_prepare_entry_seed(uint64_t seed, int64_t group, size_t i)
{
    elm_rng r;
    elm_rng_seed(&r, seed ^ 0x5ca1ab1e0ddba11ull);
    uint64_t a = elm_rng_next(&r) ^ ((uint64_t)group * 0x9e3779b97f4a7c15ull);
    elm_rng_seed(&r, a);
    a = elm_rng_next(&r) ^ ((uint64_t)i * 0xd1b54a32d192ed03ull);
    elm_rng_seed(&r, a);
    return elm_rng_next(&r);
}

typedef struct out_file {
    int jsonl;
    json_object *root;  /* JSON: the object; JSONL: an array of line objects */
    json_object *list;  /* JSON: this group's array */
    size_t done;        /* entries of this group already present */
} out_file;

static elm_status check_entry(const char *path, json_object *e, size_t k)
{
    json_object *a, *b;
    if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "prompt", &a) ||
        !json_object_object_get_ex(e, "consistence_prompt", &b) || !json_object_is_type(a, json_type_string) ||
        !json_object_is_type(b, json_type_string))
        return elm_err(ELM_E_FORMAT, "%s: entry %zu: expected {\"prompt\": string, \"consistence_prompt\": string}",
                       path, k);
    return ELM_OK;
}

static elm_status load_existing(const char *path, int64_t group, out_file *f)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)group);
    memset(f, 0, sizeof f[0]);
    f->jsonl = elm_str_has_suffix(path, ".jsonl");
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        f->root = f->jsonl ? json_object_new_array() : json_object_new_object();
    } else if (!f->jsonl) {
        fclose(fp);
        ELM_TRY(elm_json_parse_file(path, &f->root));
        if (!json_object_is_type(f->root, json_type_object)) {
            json_object_put(f->root);
            f->root = NULL;
            return elm_err(ELM_E_FORMAT, "%s: a consistency file must be a JSON object {\"<group>\": [...]}", path);
        }
    } else {
        fclose(fp);
        char *buf = NULL;
        size_t len = 0;
        ELM_TRY(elm_data_read_file(path, &buf, &len));
        f->root = json_object_new_array();
        size_t line = 0;
        for (char *p = buf; p && *p;) {
            char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            line++;
            size_t k = 0;
            while (k < n && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
                k++;
            if (k < n) {
                json_object *o = NULL;
                char where[64];
                snprintf(where, sizeof where, "%s:%zu", path, line);
                elm_status st = elm_json_parse_buffer(where, p, n, &o);
                if (st == ELM_OK)
                    st = check_entry(where, o, f->done);
                if (st != ELM_OK) {
                    json_object_put(o);
                    free(buf);
                    return st;
                }
                json_object *g;
                int64_t gi = json_object_object_get_ex(o, "group", &g) ? json_object_get_int64(g) : 0;
                if (gi == group)
                    f->done++;
                json_object_array_add(f->root, o);
            }
            p = e ? e + 1 : NULL;
        }
        free(buf);
        return ELM_OK;
    }
    if (!f->root)
        return elm_err(ELM_E_NOMEM, "%s: out of memory", path);
    if (!f->jsonl) {
        if (!json_object_object_get_ex(f->root, key, &f->list)) {
            f->list = json_object_new_array();
            json_object_object_add(f->root, key, f->list);
        } else if (!json_object_is_type(f->list, json_type_array)) {
            return elm_err(ELM_E_FORMAT, "%s: value of \"%s\" must be a list", path, key);
        }
        f->done = json_object_array_length(f->list);
        for (size_t k = 0; k < f->done; k++)
            ELM_TRY(check_entry(path, json_object_array_get_idx(f->list, k), k));
    }
    return ELM_OK;
}

static elm_status write_out(const char *path, out_file *f)
{
    if (!f->jsonl)
        return elm_json_write_file(path, f->root);
    elm_atomic_file af;
    ELM_TRY(elm_atomic_open(path, &af));
    size_t n = json_object_array_length(f->root);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_object_to_json_string_ext(json_object_array_get_idx(f->root, i),
                                                       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        elm_status st = elm_atomic_puts(&af, s);
        if (st == ELM_OK)
            st = elm_atomic_puts(&af, "\n");
        if (st != ELM_OK) {
            elm_atomic_abort(&af);
            return st;
        }
    }
    return elm_atomic_commit(&af);
}

static elm_status tok_text(elm_model *m, const char *text, int32_t **ids, size_t *n)
{
    return elm_tok_encode(m->tok, text, strlen(text), ELM_TOKENIZE_ADD_SPECIAL, ids, n);
}

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *o = malloc(la + lb + lc + 1);
    if (!o)
        return NULL;
    memcpy(o, a, la);
    memcpy(o + la, b, lb);
    memcpy(o + la + lb, c, lc);
    o[la + lb + lc] = 0;
    return o;
}

/* prepare.temperature / top_k / top_p; -1 takes the model's own default
 * (generation_config.json over transformers' 1 / 50 / 1, model/gen_config.h),
 * as generate(do_sample=True) does in the authors' prepare_consistency_data
 * for temperature and top-p; it passes top_k=None, hence top_k's default 0. */
static void prepare_warpers(const elm_model *m, const elm_prepare_opts *o, double *temperature, int64_t *top_k,
                            double *top_p)
{
    *temperature = o->temperature < 0 ? m->gen_defaults.temperature : o->temperature;
    *top_k = o->top_k < 0 ? m->gen_defaults.top_k : o->top_k;
    *top_p = o->top_p < 0 ? m->gen_defaults.top_p : o->top_p;
}

/* One entry from one forget text (see the top of the file). */
elm_status elm_prepare_entry(elm_model *m, const char *text, const elm_prepare_opts *o,
                             const elm_guide_templates *tp, uint64_t seed, char **prompt_out, char **cont_out)
{
    const int64_t min_cut = o->min_cut, max_cut = o->max_cut, min_new = o->min_new, max_new = o->max_new;
    const double gamma = o->guidance;
    const char *concept = o->concept;
    const int reference_join = o->reference_join;
    elm_status st;
    *prompt_out = *cont_out = NULL;
    double temperature, top_p;
    int64_t top_k;
    prepare_warpers(m, o, &temperature, &top_k, &top_p);
    elm_rng r;
    elm_rng_seed(&r, seed);
    /* drawn in every mode, so the later draws do not depend on it */
    size_t cut_cp = (size_t)elm_rng_range(&r, min_cut, max_cut);
    if (o->cut == ELM_CUT_WHOLE || (o->cut == ELM_CUT_AUTO && o->online))
        cut_cp = SIZE_MAX;
    if (!tp || !tp->n_expert || !tp->n_novice)
        return elm_err(ELM_E_INVALID, "prepare: no expert/novice templates");
    const char *const *redirect = tp->redirect && tp->n_redirect ? tp->redirect : elm_guide_builtin_sentences;
    size_t n_redirect = tp->redirect && tp->n_redirect ? tp->n_redirect : ELM_GUIDE_SENTENCES;
    const char *sentence = redirect[elm_rng_next(&r) % n_redirect];
    const char *et = tp->expert[elm_rng_next(&r) % tp->n_expert];
    const char *nt = tp->novice[elm_rng_next(&r) % tp->n_novice];
    int64_t n_new = elm_rng_range(&r, min_new, max_new);
    et_manual_seed(elm_rng_next(&r));

    size_t tl = strlen(text), cb = elm_utf8_prefix(text, tl, cut_cp);
    char *cut = malloc(cb + 1);
    char *gen_prompt = NULL, *pe = NULL, *pn = NULL, *gtext = NULL;
    int32_t *ip = NULL, *ie = NULL, *iv = NULL, *out = NULL;
    size_t np = 0, ne = 0, nv = 0, nout = 0;
    if (!cut)
        return elm_err(ELM_E_NOMEM, "prepare: out of memory");
    memcpy(cut, text, cb);
    cut[cb] = 0;
    gen_prompt = concat3(cut, ". ", sentence);
    pe = elm_guided_prefix(et, concept);
    pn = elm_guided_prefix(nt, concept);
    if (!gen_prompt || !pe || !pn) {
        st = elm_err(ELM_E_NOMEM, "prepare: out of memory");
        goto done;
    }
    if ((st = tok_text(m, gen_prompt, &ip, &np)) != ELM_OK || (st = tok_text(m, pe, &ie, &ne)) != ELM_OK ||
        (st = tok_text(m, pn, &iv, &nv)) != ELM_OK)
        goto done;
    elm_guided_params gp = {gamma, n_new, 0, 0, temperature, top_k, top_p};
    if ((st = elm_guided_ids(m, ip, np, ie, ne, iv, nv, &gp, &out, &nout)) != ELM_OK)
        goto done;
    if (reference_join) {
        /* erase.py's generate(): decode(prompt + generated, skip specials)
         * .replace(prompt, ''), the prompt being cut + ". " + sentence;
         * prepare_consistency_data then removes the cut as well and stores
         * that; its online path prepends ". " + sentence + " " instead. */
        int32_t *all = malloc((np + nout + 1) * sizeof *all);
        if (!all) {
            st = elm_err(ELM_E_NOMEM, "prepare: out of memory");
            goto done;
        }
        memcpy(all, ip, np * sizeof *all);
        memcpy(all + np, out, nout * sizeof *all);
        st = elm_tok_decode(m->tok, all, np + nout, ELM_DETOKENIZE_SKIP_SPECIAL, &gtext, NULL);
        free(all);
        if (st != ELM_OK)
            goto done;
        char *rest = elm_str_remove_all(gtext, gen_prompt);
        if (!rest) {
            st = elm_err(ELM_E_NOMEM, "prepare: out of memory");
            goto done;
        }
        if (o->online) {
            char *head = concat3(". ", sentence, " ");
            *cont_out = head ? concat3(head, rest, "") : NULL;
            free(head);
        } else {
            *cont_out = elm_str_remove_all(rest, cut);
        }
        free(rest);
    } else {
        if ((st = elm_tok_decode(m->tok, out, nout, ELM_DETOKENIZE_SKIP_SPECIAL, &gtext, NULL)) != ELM_OK)
            goto done;
        const char *g = gtext;
        while (*g == ' ' || *g == '\n' || *g == '\t' || *g == '\r')
            g++;
        char *head = concat3(". ", sentence, " ");
        *cont_out = head ? concat3(head, g, "") : NULL;
        free(head);
    }
    if (!*cont_out) {
        st = elm_err(ELM_E_NOMEM, "prepare: out of memory");
        goto done;
    }
    *prompt_out = cut;
    cut = NULL;
done:
    free(cut);
    free(gen_prompt);
    free(pe);
    free(pn);
    free(ip);
    free(ie);
    free(iv);
    free(out);
    free(gtext);
    return st;
}

elm_status elm_prepare_run(elm_model *m, elm_dataset *forget, const elm_prepare_opts *o, const char *out_path,
                           const elm_guide_templates *tp, elm_progress_fn progress, void *user)
{
    const int64_t group = o->group, limit = o->limit;
    if (!m->tok)
        return elm_err(ELM_E_STATE, "%s: the model has no tokenizer", m->path ? m->path : "model");
    if (!o->concept || !o->concept[0])
        return elm_err(ELM_E_INVALID, "prepare: erase.concept is empty; the expert/novice prefixes need a concept");
    if (elm_dataset_kind_of(forget) != ELM_DATASET_TEXT)
        return elm_err(ELM_E_INVALID, "%s: prepare: the forget dataset must hold texts", elm_dataset_path(forget));
    size_t total = elm_dataset_count(forget);
    if (limit > 0 && (size_t)limit < total)
        total = (size_t)limit;

    out_file f;
    elm_status st = load_existing(out_path, group, &f);
    if (st != ELM_OK) {
        json_object_put(f.root);
        return st;
    }
    double t0 = elm_clock_s();
    for (size_t i = f.done; i < total && st == ELM_OK; i++) {
        char *prompt = NULL, *cont = NULL;
        st = elm_prepare_entry(m, elm_dataset_text_at(forget, i), o, tp, elm_prepare_entry_seed(o->seed, group, i), &prompt, &cont);
        if (st != ELM_OK)
            break;
        json_object *e = json_object_new_object();
        if (f.jsonl)
            json_object_object_add(e, "group", json_object_new_int64(group));
        json_object_object_add(e, "prompt", json_object_new_string(prompt));
        json_object_object_add(e, "consistence_prompt", json_object_new_string(cont));
        free(prompt);
        free(cont);
        json_object_array_add(f.jsonl ? f.root : f.list, e);
        if ((st = write_out(out_path, &f)) != ELM_OK)
            break;
        if (elm_progress_report(progress, user, "prepare", i + 1, total, t0, NULL))
            st = elm_err(ELM_E_CANCELLED, "prepare: cancelled after %zu entries (%s holds them; run again to resume)",
                         i + 1, out_path);
    }
    if (st == ELM_OK && f.done >= total) {
        /* nothing new: still make sure the file exists */
        FILE *fp = fopen(out_path, "rb");
        if (fp)
            fclose(fp);
        else
            st = write_out(out_path, &f);
    }
    json_object_put(f.root);
    return st;
}
