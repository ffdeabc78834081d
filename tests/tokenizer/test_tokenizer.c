/* Tokenizer suite: golden ids from HF tokenizers 0.20.3 on
 * tests/fixtures/tokenizer/corpus.jsonl for four real vocabularies
 * (tests/fixtures/tokenizer/make_golden.py), round trips, streaming,
 * invalid input, chat templates, unsupported models. Exact equality
 * everywhere: tokenization has no tolerance. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/gguf.h"
#include "testutil.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tk_internal.h"
#include "tokenizer/tokenizer.h"

typedef struct { char *s; size_t n; } sample;
static sample *corpus;
static size_t n_corpus;

static void load_corpus(void)
{
    if (corpus)
        return;
    size_t len;
    char *buf = tu_read_file(tu_src("tests/fixtures/tokenizer/corpus.jsonl"), &len);
    size_t cap = 8192;
    corpus = malloc(cap * sizeof *corpus);
    char *line = buf, *nl;
    while (*line && (nl = strchr(line, '\n'))) {
        *nl = 0;
        json_object *o = json_tokener_parse(line), *t;
        ck_assert_msg(o && json_object_object_get_ex(o, "text", &t), "corpus line %zu", n_corpus + 1);
        if (n_corpus == cap)
            corpus = realloc(corpus, (cap *= 2) * sizeof *corpus);
        size_t n = (size_t)json_object_get_string_len(t);
        corpus[n_corpus].s = malloc(n + 1);
        memcpy(corpus[n_corpus].s, json_object_get_string(t), n + 1);
        corpus[n_corpus++].n = n;
        json_object_put(o);
        line = nl + 1;
    }
    free(buf);
    ck_assert_uint_ge(n_corpus, 5000);
}

/* golden ids: one {"ids": [...]} per line, gzip */
static int32_t **read_golden(const char *name, size_t **lens)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/tokenizer/%s.ids.jsonl.gz", name);
    gzFile f = gzopen(tu_src(rel), "rb");
    ck_assert_msg(f != NULL, "cannot open %s", rel);
    int32_t **ids = calloc(n_corpus, sizeof *ids);
    *lens = calloc(n_corpus, sizeof **lens);
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    for (size_t i = 0; i < n_corpus; i++) {
        size_t k = 0;
        int c;
        while ((c = gzgetc(f)) >= 0 && c != '\n') {
            if (k + 1 >= cap)
                line = realloc(line, cap *= 2);
            line[k++] = (char)c;
        }
        line[k] = 0;
        json_object *o = json_tokener_parse(line), *a;
        ck_assert_msg(o && json_object_object_get_ex(o, "ids", &a), "%s: line %zu", rel, i + 1);
        size_t n = json_object_array_length(a);
        ids[i] = malloc((n + 1) * sizeof **ids);
        for (size_t j = 0; j < n; j++)
            ids[i][j] = json_object_get_int(json_object_array_get_idx(a, j));
        (*lens)[i] = n;
        json_object_put(o);
    }
    free(line);
    gzclose(f);
    return ids;
}

static const char *vocab_path(const char *name)
{
    if (!strcmp(name, "smollm2-gguf"))
        return tu_cache("models/SmolLM2-135M-Instruct.Q4_1.gguf", "scripts/fetch-model");
    char rel[128];
    snprintf(rel, sizeof rel, "tokenizers/%s/tokenizer.json", name);
    return tu_cache(rel, "scripts/fetch-tokenizers");
}

static const char *const vocabs[] = {"llama2", "llama3", "qwen3", "smollm2-gguf"};

static void print_ids(const char *what, const int32_t *v, size_t n)
{
    fprintf(stderr, "  %s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", v[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

START_TEST(golden_ids)
{
    const char *name = vocabs[_i];
    load_corpus();
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(name), NULL, &t));
    size_t *glen;
    int32_t **gold = read_golden(name, &glen);
    size_t bad = 0;
    for (size_t i = 0; i < n_corpus; i++) {
        int32_t *ids;
        size_t n;
        ck_assert_elm_ok(elm_tokenizer_encode(t, corpus[i].s, corpus[i].n, ELM_TOKENIZE_PARSE_SPECIAL, &ids, &n));
        if (n != glen[i] || memcmp(ids, gold[i], n * sizeof *ids) != 0) {
            if (bad < 5) {
                fprintf(stderr, "%s: corpus line %zu differs: %.80s\n", name, i + 1, corpus[i].s);
                print_ids("libelm", ids, n);
                print_ids("HF    ", gold[i], glen[i]);
            }
            bad++;
        }
        elm_free(ids);
        free(gold[i]);
    }
    free(gold);
    free(glen);
    fprintf(stderr, "%s: %zu/%zu corpus lines identical to HF tokenizers\n", name, n_corpus - bad, n_corpus);
    ck_assert_msg(bad == 0, "%s: %zu of %zu corpus lines differ from the golden ids", name, bad, n_corpus);
    elm_tokenizer_free(t);
}
END_TEST

static int has_added_text(const char *s)
{
    return strstr(s, "<s>") || strstr(s, "</s>") || strstr(s, "<unk>") || strstr(s, "\xE2\x96\x81");
}

/* byte-level vocabularies without a token for some byte (SmolLM2 lacks a few
 * C0 controls) drop it, as HF does: such lines cannot round-trip */
static int all_bytes_known(const elm_tokenizer *t, const char *s, size_t n)
{
    for (size_t i = 0; t->byte_level && i < n; i++)
        if (tk_map_get(&t->vocab, s + i, 1) < 0)
            return 0;
    return 1;
}

/* decode(encode(x)) == x (qwen3: NFC(x)); llama2 only where x holds no
 * added-token text (HF's Metaspace-style decoding puts a space after it) */
START_TEST(round_trip)
{
    const char *name = vocabs[_i];
    load_corpus();
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(name), NULL, &t));
    size_t bad = 0, checked = 0;
    for (size_t i = 0; i < n_corpus; i++) {
        const char *want = corpus[i].s;
        size_t wn = corpus[i].n;
        char *nfc = NULL;
        if ((!strcmp(name, "llama2") && has_added_text(want)) || !all_bytes_known(t, want, wn))
            continue;
        if (!strcmp(name, "qwen3")) {
            ck_assert_elm_ok(tk_nfc(want, wn, &nfc, &wn));
            want = nfc;
        }
        int32_t *ids;
        size_t n;
        char *text;
        size_t tl;
        ck_assert_elm_ok(elm_tokenizer_encode(t, corpus[i].s, corpus[i].n, ELM_TOKENIZE_PARSE_SPECIAL, &ids, &n));
        ck_assert_elm_ok(elm_tok_decode(t, ids, n, 0, &text, &tl));
        checked++;
        if (tl != wn || memcmp(text, want, wn) != 0) {
            if (bad < 5)
            {
                size_t d = 0;
                while (d < tl && d < wn && text[d] == want[d])
                    d++;
                fprintf(stderr, "%s: round trip of line %zu differs at byte %zu (len %zu vs %zu): %02x vs %02x\n",
                        name, i + 1, d, tl, wn, d < tl ? (unsigned char)text[d] : 0,
                        d < wn ? (unsigned char)want[d] : 0);
            }
            bad++;
        }
        elm_free(text);
        elm_free(ids);
        free(nfc);
    }
    ck_assert_msg(bad == 0, "%s: %zu of %zu round trips differ", name, bad, checked);
    elm_tokenizer_free(t);
}
END_TEST

/* streaming decode, id by id, concatenated == full decode */
START_TEST(streaming)
{
    const char *name = vocabs[_i];
    load_corpus();
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(name), NULL, &t));
    for (unsigned flags = 0; flags < 2; flags++)
        for (size_t i = 0; i < n_corpus; i += 3) {
            int32_t *ids;
            size_t n;
            char *full;
            size_t fl;
            ck_assert_elm_ok(
                elm_tokenizer_encode(t, corpus[i].s, corpus[i].n, ELM_TOKENIZE_PARSE_SPECIAL | ELM_TOKENIZE_ADD_SPECIAL, &ids, &n));
            ck_assert_elm_ok(elm_tok_decode(t, ids, n, flags, &full, &fl));
            tk_stream *st;
            ck_assert_elm_ok(tk_stream_new(t, flags, &st));
            size_t cap = fl + 64, k = 0;
            char *acc = malloc(cap);
            for (size_t j = 0; j <= n; j++) {
                char *piece;
                size_t pl;
                if (j < n)
                    ck_assert_elm_ok(tk_stream_push(st, ids[j], &piece, &pl));
                else
                    ck_assert_elm_ok(tk_stream_flush(st, &piece, &pl));
                ck_assert_msg(tk_utf8_is_valid(piece, pl), "%s: line %zu: stream released invalid UTF-8", name, i + 1);
                if (k + pl + 1 > cap)
                    acc = realloc(acc, cap = (k + pl + 1) * 2);
                memcpy(acc + k, piece, pl);
                k += pl;
                elm_free(piece);
            }
            acc[k] = 0;
            ck_assert_msg(k == fl && memcmp(acc, full, k) == 0, "%s: line %zu (flags %u): stream and full decode differ",
                          name, i + 1, flags);
            free(acc);
            elm_free(full);
            elm_free(ids);
            tk_stream_free(st);
        }
    elm_tokenizer_free(t);
}
END_TEST

/* The public stream holds its own tokenizer reference: freeing the tokenizer
 * first is allowed (ASan/valgrind would flag a use after free). */
START_TEST(stream_outlives_tokenizer)
{
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(vocabs[_i]), NULL, &t));
    const char *text = "Streams keep w\xc3\xb6rds \xe2\x80\x94 and emoji \xf0\x9f\x98\x80 \xe2\x80\x94 whole.";
    int32_t *ids;
    size_t n;
    char *full;
    ck_assert_elm_ok(elm_tokenizer_encode(t, text, strlen(text), 0, &ids, &n));
    ck_assert_elm_ok(elm_tokenizer_decode(t, ids, n, 0, &full));
    elm_detok_stream *ds;
    ck_assert_elm_ok(elm_detok_stream_new(t, 0, &ds));
    elm_tokenizer_free(t); /* the caller's reference; the stream keeps its own */
    char acc[512] = "";
    for (size_t j = 0; j <= n; j++) {
        char *piece;
        if (j < n)
            ck_assert_elm_ok(elm_detok_stream_push(ds, ids[j], &piece));
        else
            ck_assert_elm_ok(elm_detok_stream_flush(ds, &piece));
        ck_assert_uint_lt(strlen(acc) + strlen(piece), sizeof acc);
        strcat(acc, piece);
        elm_free(piece);
    }
    ck_assert_str_eq(acc, full);
    elm_detok_stream_free(ds); /* drops the last reference */
    elm_free(full);
    elm_free(ids);
}
END_TEST

/* Invalid UTF-8 / random bytes: defined behaviour is that every ill-formed
 * subsequence becomes U+FFFD before encoding (Python's errors="replace"). */
START_TEST(invalid_bytes)
{
    const char *name = vocabs[_i];
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(name), NULL, &t));
    uint64_t x = 0x9E3779B97F4A7C15ull + (uint64_t)_i;
    char buf[512];
    for (int r = 0; r < 3000; r++) {
        size_t n = (size_t)(r % 97) * 5 % sizeof buf;
        for (size_t j = 0; j < n; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[j] = (char)(r % 3 == 0 ? (x & 0xFF) : r % 3 == 1 ? (0x80 | (x & 0x7F)) : (x % 5 ? 'a' + x % 26 : 0xE2));
        }
        int32_t *a, *b;
        size_t na, nb;
        ck_assert_elm_ok(elm_tokenizer_encode(t, buf, n, r & 3, &a, &na));
        char *fixed;
        size_t fl;
        ck_assert_elm_ok(tk_utf8_lossy(buf, n, &fixed, &fl));
        ck_assert_elm_ok(elm_tokenizer_encode(t, fixed, fl, r & 3, &b, &nb));
        ck_assert(na == nb && memcmp(a, b, na * sizeof *a) == 0);
        char *text;
        size_t tl;
        ck_assert_elm_ok(elm_tok_decode(t, a, na, 0, &text, &tl));
        ck_assert(tk_utf8_is_valid(text, tl));
        elm_free(text);
        /* random ids decode to valid UTF-8 too */
        for (size_t j = 0; j < na; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[j] = (int32_t)(x % (uint64_t)elm_tokenizer_vocab_size(t));
        }
        ck_assert_elm_ok(elm_tok_decode(t, a, na, (unsigned)(r & 1), &text, &tl));
        ck_assert(tk_utf8_is_valid(text, tl));
        elm_free(text);
        elm_free(a);
        elm_free(b);
        free(fixed);
    }
    int32_t bad_id = elm_tokenizer_vocab_size(t);
    char *text;
    ck_assert_elm_status(elm_tokenizer_decode(t, &bad_id, 1, 0, &text), ELM_E_INVALID);
    elm_tokenizer_free(t);
}
END_TEST

static int32_t id_of(elm_tokenizer *t, const char *piece) { return elm_tok_find(t, piece); }

START_TEST(specials_and_flags)
{
    elm_tokenizer *t;
    int32_t *ids;
    size_t n;
    /* llama2 (tokenizer.json + tokenizer_config.json): BOS <s>=1 added by the template */
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path("llama2"), NULL, &t));
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_BOS), 1);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_EOS), 2);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_UNK), 0);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_PAD), -1);
    ck_assert_int_eq(elm_tokenizer_vocab_size(t), 32000);
    ck_assert_elm_ok(elm_tokenizer_encode(t, "Hello", 5, ELM_TOKENIZE_ADD_SPECIAL, &ids, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[1], 22557); /* "▁Hello" (Mistral-v0.1 vocabulary) */
    elm_free(ids);
    /* without PARSE_SPECIAL "<s>" is text */
    ck_assert_elm_ok(elm_tokenizer_encode(t, "<s>", 3, 0, &ids, &n));
    ck_assert_uint_gt(n, 1);
    elm_free(ids);
    ck_assert_elm_ok(elm_tokenizer_encode(t, "<s>", 3, ELM_TOKENIZE_PARSE_SPECIAL, &ids, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ids[0], 1);
    char *s;
    ck_assert_elm_ok(elm_tokenizer_decode(t, ids, n, ELM_DETOKENIZE_SKIP_SPECIAL, &s));
    ck_assert_str_eq(s, "");
    elm_free(s);
    elm_free(ids);
    const char *piece;
    ck_assert_elm_ok(elm_tokenizer_piece(t, 13, &piece));
    ck_assert_str_eq(piece, "<0x0A>");
    ck_assert_elm_status(elm_tokenizer_piece(t, 32000, &piece), ELM_E_INVALID);
    elm_tokenizer_free(t);

    /* qwen3: no BOS; PAD = <|endoftext|>; EOS = <|im_end|> */
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path("qwen3"), NULL, &t));
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_BOS), -1);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_EOS), id_of(t, "<|im_end|>"));
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_PAD), id_of(t, "<|endoftext|>"));
    elm_tokenizer_free(t);

    /* SmolLM2 GGUF: ids from metadata; add_bos_token false */
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path("smollm2-gguf"), NULL, &t));
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_BOS), 1);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_EOS), 2);
    ck_assert_int_eq(elm_tokenizer_special(t, ELM_TOKEN_PAD), 2);
    ck_assert_int_eq(elm_tokenizer_vocab_size(t), 49152);
    ck_assert_elm_ok(elm_tokenizer_encode(t, "<|im_start|>user", 16, ELM_TOKENIZE_PARSE_SPECIAL | ELM_TOKENIZE_ADD_SPECIAL,
                                  &ids, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], 1);
    elm_free(ids);
    /* reference counting: the extra reference keeps it alive */
    elm_tokenizer *r = elm_tokenizer_ref(t);
    elm_tokenizer_free(t);
    ck_assert_int_eq(elm_tokenizer_vocab_size(r), 49152);
    elm_tokenizer_unref(r);
}
END_TEST

/* a long word must not be quadratic: 200k characters in one piece */
START_TEST(long_word)
{
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(vocabs[_i]), NULL, &t));
    size_t n = 200000;
    char *s = malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[i] = (char)('a' + x % 26);
    }
    int32_t *ids;
    size_t ni;
    ck_assert_elm_ok(elm_tokenizer_encode(t, s, n, 0, &ids, &ni));
    char *back;
    ck_assert_elm_ok(elm_tokenizer_decode(t, ids, ni, 0, &back));
    ck_assert_uint_eq(strlen(back), n);
    ck_assert(memcmp(back, s, n) == 0);
    elm_free(back);
    elm_free(ids);
    free(s);
    elm_tokenizer_free(t);
}
END_TEST

/* chat templates vs transformers' apply_chat_template (chat.golden.json) */
START_TEST(chat_templates)
{
    size_t len;
    char *buf = tu_read_file(tu_src("tests/fixtures/tokenizer/chat.golden.json"), &len);
    json_object *root = json_tokener_parse(buf), *convs, *outs, *tmpls;
    free(buf);
    ck_assert(root && json_object_object_get_ex(root, "conversations", &convs) &&
              json_object_object_get_ex(root, "outputs", &outs));
    json_object_object_get_ex(root, "templates", &tmpls);
    int checked = 0;
    json_object_object_foreach(outs, name, per_conv)
    {
        /* name: a vocabulary, or "<vocabulary>:<template>" for extra templates */
        char vocab[64];
        snprintf(vocab, sizeof vocab, "%s", name);
        char *colon = strchr(vocab, ':');
        if (colon)
            *colon = 0;
        elm_tokenizer *t;
        ck_assert_elm_ok(elm_tokenizer_load(vocab_path(vocab), NULL, &t));
        if (colon) { /* swap in the extra template's text */
            json_object *tx;
            ck_assert(json_object_object_get_ex(tmpls, name, &tx));
            free(t->chat_template);
            t->chat_template = strdup(json_object_get_string(tx));
        }
        for (size_t c = 0; c < json_object_array_length(convs); c++) {
            json_object *conv = json_object_array_get_idx(convs, c);
            size_t nm = json_object_array_length(conv);
            elm_chat_message *m = calloc(nm, sizeof *m);
            for (size_t k = 0; k < nm; k++) {
                json_object *msg = json_object_array_get_idx(conv, k), *v;
                json_object_object_get_ex(msg, "role", &v);
                m[k].role = json_object_get_string(v);
                json_object_object_get_ex(msg, "content", &v);
                m[k].content = json_object_get_string(v);
            }
            for (int gen = 0; gen < 2; gen++) {
                json_object *want = json_object_array_get_idx(json_object_array_get_idx(per_conv, c), (size_t)gen);
                char *out;
                elm_status st = elm_tokenizer_apply_chat(t, m, nm, gen, NULL, &out);
                if (json_object_is_type(want, json_type_null)) { /* the template raised */
                    ck_assert_msg(st == ELM_E_INVALID, "%s conv %zu: expected an error", name, c);
                    continue;
                }
                ck_assert_msg(st == ELM_OK, "%s: %s", name, elm_last_error());
                ck_assert_msg(strcmp(out, json_object_get_string(want)) == 0,
                              "%s conv %zu gen %d:\n--- libelm\n%s\n--- transformers\n%s", name, c, gen, out,
                              json_object_get_string(want));
                elm_free(out);
                checked++;
            }
            free(m);
        }
        elm_tokenizer_free(t);
    }
    json_object_put(root);
    ck_assert_int_ge(checked, 12);
}
END_TEST

START_TEST(chat_fallback)
{
    elm_tokenizer *t;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path("llama2"), NULL, &t)); /* has no template */
    elm_chat_message m[1] = {{"user", "Hi"}};
    char *out;
    ck_assert_elm_status(elm_tokenizer_apply_chat(t, m, 1, 1, NULL, &out), ELM_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "chat.fallback"));
    elm_config *cfg;
    ck_assert_elm_ok(elm_config_new(&cfg));
    ck_assert_elm_ok(elm_config_set_string(cfg, "chat.fallback", "llama2"));
    ck_assert_elm_ok(elm_tokenizer_apply_chat(t, m, 1, 1, cfg, &out));
    ck_assert_str_eq(out, "<s>[INST] Hi [/INST]");
    elm_free(out);
    ck_assert_elm_ok(elm_config_set_string(cfg, "chat.fallback", "chatml"));
    ck_assert_elm_ok(elm_tokenizer_apply_chat(t, m, 1, 1, cfg, &out));
    ck_assert_str_eq(out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    elm_free(out);
    elm_config_free(cfg);
    elm_tokenizer_free(t);
    ck_assert_int_eq(elm_chat_detect("{{ '<|user|>\\n' }}"), ELM_CHAT_ZEPHYR);
    ck_assert_int_eq(elm_chat_detect("{{ '[INST] ' }}"), ELM_CHAT_LLAMA2);
    ck_assert_int_eq(elm_chat_detect("no idea"), ELM_CHAT_NONE);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(unsupported_models)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    static const char *const types[] = {"Unigram", "WordPiece", "WordLevel"};
    for (int i = 0; i < 3; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":null,"
                 "\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":\"%s\",\"vocab\":{}}}",
                 types[i]);
        write_file(path, json);
        elm_tokenizer *t = NULL;
        ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(elm_last_error(), types[i]));
        ck_assert_ptr_nonnull(strstr(elm_last_error(), "tokenizer.json"));
        ck_assert_ptr_null(t);
    }
    write_file(path, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},"
                     "\"normalizer\":{\"type\":\"NFKC\"}}");
    elm_tokenizer *t = NULL;
    ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "NFKC"));
    write_file(path, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a b\"]}}");
    ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_FORMAT);
    write_file(path, "{\"model\":");
    ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_FORMAT);
    /* a merge pair that is not two strings (fuzz finding: NULL into memcpy) */
    write_file(path, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[null,\"a\"]]}}");
    ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_FORMAT);
    ck_assert_ptr_nonnull(strstr(elm_last_error(), "merges[0]"));
    /* added-token ids: INT32_MAX (fuzz finding: id + 1 overflowed), beyond
     * the vocabulary, not an integer; the last id allowed still loads */
    static const char *const bad_ids[] = {"2147483647", "9223372036854775807", "65538", "-1", "1.5", "\"3\""};
    for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},"
                 "\"added_tokens\":[{\"id\":%s,\"content\":\"<x>\",\"special\":true}]}", bad_ids[i]);
        write_file(path, json);
        ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_FORMAT);
        ck_assert_msg(strstr(elm_last_error(), "added_tokens[0]") && strstr(elm_last_error(), "'id'"),
                      "id %s: %s", bad_ids[i], elm_last_error());
        ck_assert_ptr_null(t);
    }
    write_file(path, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},"
                     "\"added_tokens\":[{\"id\":65537,\"content\":\"<x>\",\"special\":true}]}");
    ck_assert_elm_ok(elm_tokenizer_load(path, NULL, &t));
    elm_tokenizer_free(t);
    t = NULL;
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_elm_status(elm_tokenizer_load(path, NULL, &t), ELM_E_IO);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

/* the tiny fixture GGUF (tokenizer.ggml.model gpt2, no pre) and its
 * tokenizer.json must agree */
START_TEST(gguf_vs_json_tiny)
{
    elm_tokenizer *a, *b;
    ck_assert_elm_ok(elm_tokenizer_load(tu_src("tests/fixtures/models/llama-tied.gguf"), NULL, &a));
    ck_assert_elm_ok(elm_tokenizer_load(tu_src("tests/fixtures/models/llama-tied"), NULL, &b));
    load_corpus();
    for (size_t i = 0; i < n_corpus; i += 7) {
        int32_t *x, *y;
        size_t nx, ny;
        ck_assert_elm_ok(elm_tokenizer_encode(a, corpus[i].s, corpus[i].n, ELM_TOKENIZE_PARSE_SPECIAL, &x, &nx));
        ck_assert_elm_ok(elm_tokenizer_encode(b, corpus[i].s, corpus[i].n, ELM_TOKENIZE_PARSE_SPECIAL, &y, &ny));
        ck_assert_msg(nx == ny && memcmp(x, y, nx * sizeof *x) == 0, "line %zu differs", i + 1);
        elm_free(x);
        elm_free(y);
    }
    elm_tokenizer_free(a);
    elm_tokenizer_free(b);
}
END_TEST

/* Written as HF files (elm_tok_save_hf: what a merged save of a GGUF model
 * carries) and loaded again, every vocabulary gives the golden ids on the
 * whole corpus, with and without the post-processor, the same specials,
 * chat template and decoded text. */
START_TEST(save_hf_reload)
{
    const char *name = vocabs[_i];
    load_corpus();
    elm_tokenizer *a, *b;
    ck_assert_elm_ok(elm_tokenizer_load(vocab_path(name), NULL, &a));
    char *dir = tu_tmpdir();
    ck_assert_elm_ok(elm_tok_save_hf(a, dir));
    ck_assert_elm_ok(elm_tokenizer_load(dir, NULL, &b));
    ck_assert_int_eq(elm_tok_vocab_size(a), elm_tok_vocab_size(b));
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(elm_tokenizer_special(a, (elm_special_token)k), elm_tokenizer_special(b, (elm_special_token)k));
    const char *ta = elm_tok_chat_template(a), *tb = elm_tok_chat_template(b);
    ck_assert(ta ? tb && !strcmp(ta, tb) : !tb);
    size_t bad = 0;
    static const unsigned flags[] = {ELM_TOKENIZE_PARSE_SPECIAL, ELM_TOKENIZE_ADD_SPECIAL};
    for (size_t i = 0; i < n_corpus; i++) {
        for (int f = 0; f < 2; f++) {
            int32_t *x, *y;
            size_t nx, ny;
            ck_assert_elm_ok(elm_tokenizer_encode(a, corpus[i].s, corpus[i].n, flags[f], &x, &nx));
            ck_assert_elm_ok(elm_tokenizer_encode(b, corpus[i].s, corpus[i].n, flags[f], &y, &ny));
            int same = nx == ny && memcmp(x, y, nx * sizeof *x) == 0;
            if (same && f == 0 && i % 5 == 0) {
                char *da, *db;
                ck_assert_elm_ok(elm_tok_decode(a, x, nx, 0, &da, NULL));
                ck_assert_elm_ok(elm_tok_decode(b, y, ny, 0, &db, NULL));
                same = !strcmp(da, db);
                free(da);
                free(db);
            }
            if (!same && bad++ < 3)
                fprintf(stderr, "%s: corpus line %zu (flags %u) differs after save_hf: %.80s\n", name, i + 1,
                        flags[f], corpus[i].s);
            elm_free(x);
            elm_free(y);
        }
    }
    fprintf(stderr, "%s: %zu/%zu encodings equal after writing tokenizer.json and loading it\n", name,
            2 * n_corpus - bad, 2 * n_corpus);
    ck_assert_msg(bad == 0, "%s: %zu encodings differ after save_hf", name, bad);
    elm_tokenizer_free(a);
    elm_tokenizer_free(b);
    tu_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("tokenizer");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, golden_ids, 0, 4);
    tcase_add_loop_test(tc, round_trip, 0, 4);
    tcase_add_loop_test(tc, streaming, 0, 4);
    tcase_add_loop_test(tc, stream_outlives_tokenizer, 0, 4);
    tcase_add_loop_test(tc, invalid_bytes, 0, 4);
    tcase_add_loop_test(tc, long_word, 0, 4);
    tcase_add_test(tc, specials_and_flags);
    tcase_add_test(tc, chat_templates);
    tcase_add_test(tc, chat_fallback);
    tcase_add_test(tc, unsupported_models);
    tcase_add_test(tc, gguf_vs_json_tiny);
    tcase_add_loop_test(tc, save_hf_reload, 0, 4);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
