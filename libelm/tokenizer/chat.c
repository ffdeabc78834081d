/* Chat templates rendered in C. The template text is not interpreted: it is
 * recognised by a signature substring and the known format is produced
 * (checked against transformers' apply_chat_template in the tests). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"

typedef struct { char *s; size_t n, cap; int oom; } sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->n + n + 1) * 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Python str.isspace */
static int py_space(uint32_t c) { return tk_is_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

/* str.strip() / lstrip / rstrip of whitespace, or of one ASCII char ch */
static void strip_span(const char *s, const char **b, const char **e, int left, int right, int ch)
{
    const char *p = s, *q = s + strlen(s);
    while (left && p < q) {
        size_t l = elm_utf8_seq_len((const unsigned char *)p, (size_t)(q - p));
        if (!l)
            break;
        size_t dl;
        uint32_t c = tk_utf8_decode((const unsigned char *)p, &dl);
        if (ch ? c != (uint32_t)ch : !py_space(c))
            break;
        p += l;
    }
    while (right && q > p) {
        const char *r = q - 1;
        while (r > p && ((unsigned char)*r & 0xC0) == 0x80)
            r--;
        size_t dl;
        uint32_t c = tk_utf8_decode((const unsigned char *)r, &dl);
        if (ch ? c != (uint32_t)ch : !py_space(c))
            break;
        q = r;
    }
    *b = p;
    *e = q;
}

static void sb_strip(sbuf *b, const char *s, int left, int right, int ch)
{
    const char *p, *q;
    strip_span(s, &p, &q, left, right, ch);
    sb_add(b, p, (size_t)(q - p));
}

elm_chat_kind elm_chat_detect(const char *tmpl)
{
    if (!tmpl)
        return ELM_CHAT_NONE;
    if (strstr(tmpl, "<|start_header_id|>"))
        return ELM_CHAT_LLAMA3;
    if (strstr(tmpl, "<|im_start|>"))
        return ELM_CHAT_CHATML;
    if (strstr(tmpl, "<|user|>"))
        return ELM_CHAT_ZEPHYR;
    if (strstr(tmpl, "[INST]"))
        return ELM_CHAT_LLAMA2;
    return ELM_CHAT_NONE;
}

/* A ChatML template's default system prompt: the literal in
 * '<|im_start|>system\n<literal><|im_end|>' (SmolLM2, Qwen2.5). The caller
 * frees it; NULL if the template has none. */
static char *chatml_default_system(const char *tmpl)
{
    if (!tmpl || !strstr(tmpl, "!= 'system'"))
        if (!tmpl || !strstr(tmpl, "!= \"system\""))
            return NULL;
    const char *p = tmpl;
    while ((p = strstr(p, "<|im_start|>system"))) {
        p += strlen("<|im_start|>system");
        const char *body;
        if (*p == '\n')
            body = p + 1;
        else if (p[0] == '\\' && p[1] == 'n')
            body = p + 2;
        else
            continue;
        const char *end = strstr(body, "<|im_end|>");
        if (!end)
            return NULL;
        /* a literal: no quote closing the string before <|im_end|> */
        int literal = end > body;
        for (const char *q = body; q < end; q++)
            if (*q == '\'' || *q == '"')
                literal = 0;
        if (!literal)
            continue;
        char *o = malloc((size_t)(end - body) + 1);
        if (!o)
            return NULL;
        size_t k = 0;
        for (const char *q = body; q < end; q++) {
            if (q[0] == '\\' && q + 1 < end) { /* jinja string escapes */
                char c = q[1];
                o[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
                q++;
            } else
                o[k++] = *q;
        }
        o[k] = 0;
        return o;
    }
    return NULL;
}

static elm_status render_chatml(const elm_tokenizer *t, const elm_chat_message *m, size_t n, int gen, sbuf *b)
{
    const char *tmpl = t->chat_template;
    char *def = chatml_default_system(tmpl);
    if (def && (n == 0 || strcmp(m[0].role, "system") != 0) && n > 0) {
        sb_str(b, "<|im_start|>system\n");
        sb_str(b, def);
        sb_str(b, "<|im_end|>\n");
    }
    free(def);
    int qwen3 = tmpl && strstr(tmpl, "reasoning_content") && strstr(tmpl, "<think>");
    /* Qwen3: index of the last user message (not a tool response) */
    long last_query = (long)n - 1;
    if (qwen3)
        for (long i = (long)n - 1; i >= 0; i--)
            if (!strcmp(m[i].role, "user")) {
                last_query = i;
                break;
            }
    for (size_t i = 0; i < n; i++) {
        if (qwen3 && !strcmp(m[i].role, "assistant")) {
            const char *c = m[i].content, *cb = c, *ce = c + strlen(c);
            const char *rb = "", *re = rb;
            const char *close = strstr(c, "</think>");
            if (close) {
                const char *last = close, *x;
                while ((x = strstr(last + 8, "</think>")))
                    last = x;
                cb = last + 8; /* split('</think>')[-1].lstrip('\n') */
                while (cb < ce && *cb == '\n')
                    cb++;
                /* split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') */
                const char *r0 = c, *r1 = close;
                while (r1 > r0 && r1[-1] == '\n')
                    r1--;
                const char *open = r0, *y;
                while ((y = strstr(open, "<think>")) && y < r1)
                    open = y + 7;
                while (open < r1 && *open == '\n')
                    open++;
                rb = open;
                re = r1;
            }
            sb_str(b, "<|im_start|>assistant\n");
            if ((long)i > last_query && (i + 1 == n || re > rb)) {
                while (rb < re && *rb == '\n')
                    rb++;
                while (re > rb && re[-1] == '\n')
                    re--;
                sb_str(b, "<think>\n");
                sb_add(b, rb, (size_t)(re - rb));
                sb_str(b, "\n</think>\n\n");
                while (cb < ce && *cb == '\n')
                    cb++;
            }
            sb_add(b, cb, (size_t)(ce - cb));
            sb_str(b, "<|im_end|>\n");
            continue;
        }
        sb_str(b, "<|im_start|>");
        sb_str(b, m[i].role);
        sb_str(b, "\n");
        sb_str(b, m[i].content);
        sb_str(b, "<|im_end|>\n");
    }
    if (gen)
        sb_str(b, "<|im_start|>assistant\n");
    return ELM_OK;
}

static const char *special_text(const elm_tokenizer *t, elm_special_token w)
{
    int32_t id = t->special[w];
    const char *p = id >= 0 ? (t->added_text[id] ? t->added_text[id] : t->pieces[id]) : NULL;
    return p ? p : "";
}

static elm_status render_llama3(const elm_tokenizer *t, const elm_chat_message *m, size_t n, int gen, sbuf *b)
{
    sb_str(b, special_text(t, ELM_TOKEN_BOS));
    for (size_t i = 0; i < n; i++) {
        sb_str(b, "<|start_header_id|>");
        sb_str(b, m[i].role);
        sb_str(b, "<|end_header_id|>\n\n");
        sb_strip(b, m[i].content, 1, 1, 0);
        sb_str(b, "<|eot_id|>");
    }
    /* some Llama-3 templates add the assistant header unconditionally */
    if (gen || (t->chat_template && !strstr(t->chat_template, "add_generation_prompt")))
        sb_str(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return ELM_OK;
}

static elm_status render_zephyr(const elm_tokenizer *t, const elm_chat_message *m, size_t n, int gen, sbuf *b)
{
    const char *eos = special_text(t, ELM_TOKEN_EOS);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m[i].role, "user") && strcmp(m[i].role, "system") && strcmp(m[i].role, "assistant"))
            continue;
        sb_str(b, "<|");
        sb_str(b, m[i].role);
        sb_str(b, "|>\n");
        sb_str(b, m[i].content);
        sb_str(b, eos);
        sb_str(b, "\n");
    }
    if (gen && n)
        sb_str(b, "<|assistant|>\n");
    return ELM_OK;
}

static elm_status render_llama2(const elm_tokenizer *t, const elm_chat_message *m, size_t n, int gen, sbuf *b)
{
    (void)gen; /* the Llama-2 template has no generation prompt */
    const char *bos = special_text(t, ELM_TOKEN_BOS), *eos = special_text(t, ELM_TOKEN_EOS);
    const char *sys = NULL;
    size_t first = 0;
    if (n && !strcmp(m[0].role, "system")) {
        sys = m[0].content;
        first = 1;
    }
    for (size_t i = first; i < n; i++) {
        int user = !strcmp(m[i].role, "user");
        if (user != ((i - first) % 2 == 0))
            return elm_err(ELM_E_INVALID, "chat template llama2: conversation roles must alternate "
                                          "user/assistant/user/assistant/... (message %zu is '%s')",
                           i, m[i].role);
        sbuf c = {0};
        if (i == first && sys) {
            sb_str(&c, "<<SYS>>\n");
            sb_str(&c, sys);
            sb_str(&c, "\n<</SYS>>\n\n");
        }
        sb_str(&c, m[i].content);
        if (c.oom) {
            free(c.s);
            return elm_err(ELM_E_NOMEM, "chat template: out of memory");
        }
        if (user) {
            sb_str(b, bos);
            sb_str(b, "[INST] ");
            sb_strip(b, c.s ? c.s : "", 1, 1, 0);
            sb_str(b, " [/INST]");
        } else if (!strcmp(m[i].role, "assistant")) {
            sb_str(b, " ");
            sb_strip(b, c.s ? c.s : "", 1, 1, 0);
            sb_str(b, " ");
            sb_str(b, eos);
        }
        free(c.s);
    }
    return ELM_OK;
}

elm_status elm_chat_kind_parse(const char *name, elm_chat_kind *out)
{
    static const struct { const char *name; elm_chat_kind kind; } names[] = {
        {"none", ELM_CHAT_NONE},     {"chatml", ELM_CHAT_CHATML}, {"zephyr", ELM_CHAT_ZEPHYR},
        {"llama2", ELM_CHAT_LLAMA2}, {"llama3", ELM_CHAT_LLAMA3},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return ELM_OK;
        }
    return elm_err(ELM_E_INVALID, "chat.fallback: '%s' is not one of none, chatml, zephyr, llama2, llama3",
                   name ? name : "(null)");
}

elm_status elm_tok_chat_apply(const elm_tokenizer *t, const elm_chat_message *msgs, size_t n, int gen,
                              elm_chat_kind fallback, char **out)
{
    elm_chat_kind kind = elm_chat_detect(t->chat_template);
    if (kind == ELM_CHAT_NONE) {
        kind = fallback;
        if (kind == ELM_CHAT_NONE)
            return elm_err(ELM_E_UNSUPPORTED,
                           "%s: %s; recognised: ChatML (<|im_start|>), Zephyr (<|user|>), Llama-2 ([INST]), "
                           "Llama-3 (<|start_header_id|>); set chat.fallback to one of chatml|zephyr|llama2|llama3",
                           t->source, t->chat_template ? "chat template not recognised" : "no chat template");
    }
    sbuf b = {0};
    sb_add(&b, "", 0);
    elm_status st;
    switch (kind) {
    case ELM_CHAT_CHATML:
        st = render_chatml(t, msgs, n, gen, &b);
        break;
    case ELM_CHAT_LLAMA3:
        st = render_llama3(t, msgs, n, gen, &b);
        break;
    case ELM_CHAT_ZEPHYR:
        st = render_zephyr(t, msgs, n, gen, &b);
        break;
    default:
        st = render_llama2(t, msgs, n, gen, &b);
        break;
    }
    if (st == ELM_OK && b.oom)
        st = elm_err(ELM_E_NOMEM, "chat template: out of memory");
    if (st != ELM_OK) {
        free(b.s);
        return st;
    }
    *out = b.s;
    return ELM_OK;
}
