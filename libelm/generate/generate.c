/* Batched KV-cached generation, as transformers' generate() does it for a
 * decoder-only model: prompts left-padded to one length, attention mask
 * 1/0, position ids = cumsum(mask) - 1 (1 at padding), one forward over the
 * padded prompts, then one token per row per step. Rows that finish (EOS,
 * stop string, length) leave the batch (elm_kv_cache_select) instead of
 * being fed padding. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "generate/generate.h"
#include "tokenizer/tokenizer.h"

void elm_gen_result_clear(elm_gen_result *r)
{
    if (!r)
        return;
    free(r->ids);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static int single_special(const elm_tokenizer *tok, const char *text, int32_t *id)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (elm_tok_encode(tok, text, strlen(text), ELM_TOKENIZE_PARSE_SPECIAL, &ids, &n) != ELM_OK) {
        elm_err_clear();
        return 0;
    }
    int ok = n == 1;
    if (ok)
        *id = ids[0];
    free(ids);
    return ok;
}

size_t elm_gen_eos_ids(elm_model *m, int chat, int32_t *ids, size_t cap)
{
    size_t n = 0;
    int32_t cand[4];
    size_t nc = 0;
    cand[nc++] = m->cfg.eos_id;
    cand[nc++] = m->tok ? elm_tok_special(m->tok, ELM_TOKEN_EOS) : -1;
    if (chat && m->tok) {
        int32_t id;
        if (single_special(m->tok, "<|im_end|>", &id))
            cand[nc++] = id;
        if (single_special(m->tok, "<|eot_id|>", &id))
            cand[nc++] = id;
    }
    for (size_t i = 0; i < nc; i++) {
        if (cand[i] < 0)
            continue;
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= ids[j] == cand[i];
        if (!dup && n < cap)
            ids[n++] = cand[i];
    }
    return n;
}

elm_status elm_gen_tokenize_prompt(elm_model *m, const char *prompt, const elm_gen_params *p,
                                   int32_t **ids, size_t *n)
{
    int32_t *t = NULL;
    size_t nt = 0;
    elm_status st;
    *ids = NULL;
    *n = 0;
    if (!m->tok)
        return elm_err(ELM_E_STATE, "%s: the model has no tokenizer", m->path ? m->path : "model");
    if (p->chat) {
        /* as apply_chat_template(tokenize=True): the template supplies BOS */
        elm_chat_message msg = {"user", prompt};
        char *text = NULL;
        ELM_TRY(elm_tok_chat_apply(m->tok, &msg, 1, 1, p->chat_fallback, &text));
        st = elm_tok_encode(m->tok, text, strlen(text), ELM_TOKENIZE_PARSE_SPECIAL, &t, &nt);
        free(text);
    } else {
        /* as tokenizer(prompt): post-processor specials (BOS where the tokenizer adds one) */
        st = elm_tok_encode(m->tok, prompt, strlen(prompt), ELM_TOKENIZE_ADD_SPECIAL | ELM_TOKENIZE_PARSE_SPECIAL,
                            &t, &nt);
    }
    if (st != ELM_OK)
        return st;
    *ids = malloc((nt ? nt : 1) * sizeof(int32_t));
    if (!*ids) {
        free(t);
        return elm_err(ELM_E_NOMEM, "generate: out of memory");
    }
    if (nt)
        memcpy(*ids, t, nt * sizeof(int32_t));
    *n = nt;
    free(t);
    return ELM_OK;
}

/* Per-prompt decoding state. */
typedef struct row_state {
    tk_stream *detok;
    char *buf;         /* streamed text so far */
    size_t len, cap;
    size_t emitted;    /* bytes passed to the callback */
    int32_t *ids;
    size_t n_ids, cap_ids;
    int done;
} row_state;

static elm_status buf_append(row_state *r, const char *s)
{
    size_t n = strlen(s);
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return elm_err(ELM_E_NOMEM, "generate: out of memory");
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = 0;
    return ELM_OK;
}

static elm_status ids_append(row_state *r, int32_t id)
{
    if (r->n_ids == r->cap_ids) {
        size_t cap = r->cap_ids ? r->cap_ids * 2 : 64;
        int32_t *b = realloc(r->ids, cap * sizeof(int32_t));
        if (!b)
            return elm_err(ELM_E_NOMEM, "generate: out of memory");
        r->ids = b;
        r->cap_ids = cap;
    }
    r->ids[r->n_ids++] = id;
    return ELM_OK;
}

/* Stop strings as a list of (start, len) pieces of `stop`. */
typedef struct stops {
    const char *s[64];
    size_t n[64];
    int count;
    size_t longest;
} stops;

static void stops_parse(const char *text, stops *st)
{
    memset(st, 0, sizeof *st);
    if (!text)
        return;
    const char *p = text;
    while (*p && st->count < 64) {
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            st->s[st->count] = p;
            st->n[st->count] = n;
            if (n > st->longest)
                st->longest = n;
            st->count++;
        }
        if (!e)
            break;
        p = e + 1;
    }
}

/* Earliest occurrence of any stop string in buf[from..len), or (size_t)-1. */
static size_t stops_find(const stops *st, const char *buf, size_t len, size_t from)
{
    size_t best = (size_t)-1;
    for (int k = 0; k < st->count; k++) {
        for (size_t i = from; i + st->n[k] <= len; i++) {
            if (memcmp(buf + i, st->s[k], st->n[k]) == 0) {
                if (i < best)
                    best = i;
                break;
            }
        }
    }
    return best;
}

/* Pass buf[emitted..upto) to the callback (upto on a UTF-8 boundary). */
static elm_status emit(row_state *r, size_t index, int32_t id, size_t upto, elm_token_fn fn, void *user)
{
    if (!fn)
        return ELM_OK;
    while (upto > r->emitted && upto < r->len && ((unsigned char)r->buf[upto] & 0xC0) == 0x80)
        upto--;
    if (upto < r->emitted)
        upto = r->emitted;
    char save = r->buf[upto];
    r->buf[upto] = 0;
    int stop = fn(index, id, r->buf + r->emitted, user);
    r->buf[upto] = save;
    r->emitted = upto;
    if (stop)
        return elm_err(ELM_E_CANCELLED, "generate: cancelled by the token callback");
    return ELM_OK;
}

static et_tensor *host_i64(et_scope *s, const int64_t *data, int64_t b, int64_t t, et_device dev)
{
    int64_t shape[2] = {b, t};
    et_tensor *x = et_from_data(s, data, ET_I64, 2, shape);
    return dev.kind == 0 ? x : et_to_device(s, x, dev);
}

elm_status elm_gen_ids(elm_model *m, const int32_t *const *prompts, const size_t *lens, size_t n,
                       const elm_gen_params *p, elm_token_fn on_token, void *user, elm_gen_result *out)
{
    elm_status st = ELM_OK;
    row_state *rows = NULL;
    int64_t *active = NULL, *pos = NULL, *buf64 = NULL, *mask = NULL, *next = NULL;
    elm_kv_cache *cache = NULL;
    et_scope *s = NULL;
    stops sp;
    int32_t eos[8];
    size_t n_eos = p->no_eos ? 0 : elm_gen_eos_ids(m, p->chat, eos, 8);
    int64_t pad = m->cfg.pad_id >= 0 ? m->cfg.pad_id : (m->cfg.eos_id >= 0 ? m->cfg.eos_id : 0);

    for (size_t i = 0; i < n; i++)
        memset(&out[i], 0, sizeof out[i]);
    if (n == 0)
        return ELM_OK;
    stops_parse(p->stop, &sp);
    size_t T = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0)
            return elm_err(ELM_E_INVALID, "generate: prompt %zu is empty (no tokens)", i);
        if (lens[i] > T)
            T = lens[i];
    }

    rows = calloc(n, sizeof *rows);
    active = calloc(n, sizeof *active);
    pos = calloc(n, sizeof *pos);
    next = calloc(n, sizeof *next);
    buf64 = calloc(n * T, sizeof *buf64);
    mask = calloc(n * T, sizeof *mask);
    if (!rows || !active || !pos || !next || !buf64 || !mask) {
        st = elm_err(ELM_E_NOMEM, "generate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (m->tok && (st = tk_stream_new(m->tok, ELM_DETOKENIZE_SKIP_SPECIAL, &rows[i].detok)) != ELM_OK)
            goto done;
        active[i] = (int64_t)i;
    }
    if (p->max_new_tokens <= 0)
        goto finish;
    /* gen.seed makes the call's draws its own: the global generator is
     * re-seeded at the start of every call (also when greedy, harmlessly) */
    et_manual_seed(p->seed);

    /* left padding; positions = cumsum(mask) - 1, 1 at padding (as HF) */
    int64_t *posmat = calloc(n * T, sizeof *posmat);
    if (!posmat) {
        st = elm_err(ELM_E_NOMEM, "generate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t off = T - lens[i];
        for (size_t t = 0; t < T; t++) {
            int real = t >= off;
            buf64[i * T + t] = real ? prompts[i][t - off] : pad;
            mask[i * T + t] = real;
            posmat[i * T + t] = real ? (int64_t)(t - off) : 1;
        }
        pos[i] = (int64_t)lens[i]; /* position of the next token */
    }
    if ((st = elm_kv_cache_new(m, &cache)) != ELM_OK) {
        free(posmat);
        goto done;
    }
    s = et_scope_new();
    if (!s) {
        free(posmat);
        st = elm_err(ELM_E_NOMEM, "generate: out of memory");
        goto done;
    }
    et_device dev = m->device;
    int prev_grad = et_set_grad_enabled(0);
    elm_forward_opts fo;
    memset(&fo, 0, sizeof fo);
    fo.use_attached = 1;
    fo.cache = cache;
    fo.hidden_layer = -1;
    fo.last_only = 1;
    int any_pad = 0;
    for (size_t i = 0; i < n; i++)
        any_pad |= lens[i] != T;
    fo.attn_mask = any_pad ? host_i64(s, mask, (int64_t)n, (int64_t)T, dev) : NULL;
    fo.positions = host_i64(s, posmat, (int64_t)n, (int64_t)T, dev);
    free(posmat);
    et_tensor *logits = elm_model_forward(m, s, host_i64(s, buf64, (int64_t)n, (int64_t)T, dev), &fo);
    size_t n_active = n;
    int64_t step = 0;
    for (;;) {
        if ((st = et_scope_check(s)) != ELM_OK)
            break;
        int64_t V = et_size(logits, -1);
        int64_t shape2[2] = {(int64_t)n_active, V};
        et_tensor *rowsl = et_reshape(s, logits, 2, shape2);
        if ((st = et_scope_check(s)) != ELM_OK)
            break;
        if ((st = elm_sample_rows(s, rowsl, p->temperature, p->top_k, p->top_p, next)) != ELM_OK)
            break;
        step++;
        /* consume the drawn tokens */
        for (size_t a = 0; a < n_active && st == ELM_OK; a++) {
            size_t i = (size_t)active[a];
            row_state *r = &rows[i];
            int32_t id = (int32_t)next[a];
            int is_eos = 0;
            for (size_t k = 0; k < n_eos; k++)
                is_eos |= eos[k] == id;
            if (is_eos) {
                r->done = 1;
                out[i].stopped = 1;
                continue;
            }
            if ((st = ids_append(r, id)) != ELM_OK)
                break;
            char *piece = NULL;
            if (r->detok) {
                if ((st = tk_stream_push(r->detok, id, &piece, NULL)) != ELM_OK)
                    break;
                st = buf_append(r, piece);
                free(piece);
                if (st != ELM_OK)
                    break;
            }
            size_t hit = sp.count ? stops_find(&sp, r->buf ? r->buf : "", r->len,
                                               r->emitted > sp.longest ? r->emitted - sp.longest : 0)
                                  : (size_t)-1;
            if (hit != (size_t)-1) {
                r->len = hit;
                r->buf[hit] = 0;
                r->done = 1;
                out[i].stopped = 2;
                st = emit(r, i, id, hit, on_token, user);
            } else {
                size_t hold = sp.longest ? sp.longest - 1 : 0;
                st = emit(r, i, id, r->len > hold ? r->len - hold : 0, on_token, user);
            }
            if (st == ELM_OK && step >= p->max_new_tokens)
                r->done = 1;
        }
        if (st != ELM_OK)
            break;
        /* drop finished rows */
        size_t keep = 0;
        int64_t *sel = buf64; /* reuse: n <= n*T */
        for (size_t a = 0; a < n_active; a++) {
            if (!rows[active[a]].done) {
                sel[keep] = (int64_t)a;
                next[keep] = next[a];
                active[keep] = active[a];
                keep++;
            }
        }
        if (keep == 0)
            break;
        if (keep != n_active && (st = elm_kv_cache_select(cache, sel, (int)keep)) != ELM_OK)
            break;
        n_active = keep;
        /* next step: one token per active row at its own position */
        et_scope_free(s);
        s = et_scope_new();
        if (!s) {
            st = elm_err(ELM_E_NOMEM, "generate: out of memory");
            break;
        }
        for (size_t a = 0; a < n_active; a++)
            mask[a] = pos[active[a]]++;
        fo.attn_mask = NULL;
        fo.positions = host_i64(s, mask, (int64_t)n_active, 1, dev);
        logits = elm_model_forward(m, s, host_i64(s, next, (int64_t)n_active, 1, dev), &fo);
    }
    et_set_grad_enabled(prev_grad);
    if (st != ELM_OK)
        goto done;

finish:
    for (size_t i = 0; i < n; i++) {
        row_state *r = &rows[i];
        if (r->detok && out[i].stopped != 2) {
            char *tail = NULL;
            if ((st = tk_stream_flush(r->detok, &tail, NULL)) != ELM_OK)
                goto done;
            st = buf_append(r, tail);
            free(tail);
            if (st != ELM_OK)
                goto done;
        }
        if (r->emitted < r->len && on_token) {
            if ((st = emit(r, i, r->n_ids ? r->ids[r->n_ids - 1] : -1, r->len, on_token, user)) != ELM_OK)
                goto done;
        }
        if (!r->buf && (st = buf_append(r, "")) != ELM_OK)
            goto done;
        out[i].ids = r->ids;
        out[i].n_ids = r->n_ids;
        out[i].text = r->buf;
        r->ids = NULL;
        r->buf = NULL;
    }

done:
    if (rows) {
        for (size_t i = 0; i < n; i++) {
            tk_stream_free(rows[i].detok);
            free(rows[i].buf);
            free(rows[i].ids);
        }
    }
    if (st != ELM_OK)
        for (size_t i = 0; i < n; i++)
            elm_gen_result_clear(&out[i]);
    et_scope_free(s);
    elm_kv_cache_free(cache);
    free(rows);
    free(active);
    free(pos);
    free(next);
    free(buf64);
    free(mask);
    return st;
}
