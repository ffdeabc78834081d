/*
 * elm_abi_dump.c — prints what the C compiler makes of include/elm.h: the
 * size and alignment of every public struct, the offset and size of each of
 * its fields, and the value of every enum constant and version macro. The
 * binding tests (bindings/python/tests/test_abi_layout.py and
 * bindings/rust/elm-sys/tests/layout.rs) compile it with `cc` and compare
 * their hand-written mirrors against its output; the Python test also checks
 * that the lists below name every struct, field and enumerator elm.h declares.
 *
 * Output, one record a line, fields separated by one space:
 *   struct NAME SIZE ALIGN
 *   field NAME FIELD OFFSET SIZE      (in declaration order)
 *   const NAME VALUE
 *
 * Build: cc -std=c11 -I include bindings/abi/elm_abi_dump.c -o elm_abi_dump
 */
#include "elm.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#define STRUCT(T) printf("struct %s %zu %zu\n", #T, sizeof(T), alignof(T))
#define FIELD(T, f) \
    printf("field %s %s %zu %zu\n", #T, #f, offsetof(T, f), sizeof(((T *)0)->f))
#define CONST(c) printf("const %s %lld\n", #c, (long long)(c))

int main(void)
{
    STRUCT(elm_key_info);
    FIELD(elm_key_info, size);
    FIELD(elm_key_info, key);
    FIELD(elm_key_info, type);
    FIELD(elm_key_info, default_text);
    FIELD(elm_key_info, min);
    FIELD(elm_key_info, max);
    FIELD(elm_key_info, choices);
    FIELD(elm_key_info, doc);

    STRUCT(elm_progress);
    FIELD(elm_progress, size);
    FIELD(elm_progress, what);
    FIELD(elm_progress, done);
    FIELD(elm_progress, total);
    FIELD(elm_progress, seconds);
    FIELD(elm_progress, detail);

    STRUCT(elm_model_info);
    FIELD(elm_model_info, size);
    FIELD(elm_model_info, architecture);
    FIELD(elm_model_info, dtype);
    FIELD(elm_model_info, device);
    FIELD(elm_model_info, n_layers);
    FIELD(elm_model_info, n_embd);
    FIELD(elm_model_info, n_heads);
    FIELD(elm_model_info, n_kv_heads);
    FIELD(elm_model_info, head_dim);
    FIELD(elm_model_info, n_ff);
    FIELD(elm_model_info, n_vocab);
    FIELD(elm_model_info, n_ctx);
    FIELD(elm_model_info, n_params);
    FIELD(elm_model_info, tied_embeddings);
    FIELD(elm_model_info, has_adapter);
    FIELD(elm_model_info, source_dtype);

    STRUCT(elm_chat_message);
    FIELD(elm_chat_message, role);
    FIELD(elm_chat_message, content);

    STRUCT(elm_step_stats);
    FIELD(elm_step_stats, size);
    FIELD(elm_step_stats, step);
    FIELD(elm_step_stats, micro_steps);
    FIELD(elm_step_stats, loss);
    FIELD(elm_step_stats, loss_erase);
    FIELD(elm_step_stats, loss_retain);
    FIELD(elm_step_stats, loss_consistency);
    FIELD(elm_step_stats, loss_train);
    FIELD(elm_step_stats, grad_norm);
    FIELD(elm_step_stats, lr);
    FIELD(elm_step_stats, tokens);
    FIELD(elm_step_stats, seconds);

    STRUCT(elm_mcq_result);
    FIELD(elm_mcq_result, size);
    FIELD(elm_mcq_result, n);
    FIELD(elm_mcq_result, n_correct);
    FIELD(elm_mcq_result, accuracy);
    FIELD(elm_mcq_result, ci_low);
    FIELD(elm_mcq_result, ci_high);
    FIELD(elm_mcq_result, predicted);
    FIELD(elm_mcq_result, answers);
    FIELD(elm_mcq_result, margins);
    FIELD(elm_mcq_result, seconds);
    FIELD(elm_mcq_result, stride);
    FIELD(elm_mcq_result, loglik);
    FIELD(elm_mcq_result, n_tokens);
    FIELD(elm_mcq_result, predicted_unnormalized);
    FIELD(elm_mcq_result, n_correct_unnormalized);
    FIELD(elm_mcq_result, accuracy_unnormalized);

    STRUCT(elm_ppl_result);
    FIELD(elm_ppl_result, size);
    FIELD(elm_ppl_result, perplexity);
    FIELD(elm_ppl_result, nll);
    FIELD(elm_ppl_result, n_tokens);
    FIELD(elm_ppl_result, seconds);

    CONST(ELM_VERSION_MAJOR);
    CONST(ELM_VERSION_MINOR);
    CONST(ELM_VERSION_PATCH);
    CONST(ELM_VERSION_NUMBER);

    CONST(ELM_OK);
    CONST(ELM_E_INVALID);
    CONST(ELM_E_IO);
    CONST(ELM_E_FORMAT);
    CONST(ELM_E_UNSUPPORTED);
    CONST(ELM_E_NOMEM);
    CONST(ELM_E_DEVICE);
    CONST(ELM_E_NUMERIC);
    CONST(ELM_E_CANCELLED);
    CONST(ELM_E_STATE);
    CONST(ELM_E_INTERNAL);

    CONST(ELM_LOG_ERROR);
    CONST(ELM_LOG_WARN);
    CONST(ELM_LOG_INFO);
    CONST(ELM_LOG_DEBUG);

    CONST(ELM_TYPE_INT);
    CONST(ELM_TYPE_DOUBLE);
    CONST(ELM_TYPE_STRING);
    CONST(ELM_TYPE_BOOL);
    CONST(ELM_TYPE_CHOICE);

    CONST(ELM_TOKENIZE_ADD_SPECIAL);
    CONST(ELM_TOKENIZE_PARSE_SPECIAL);
    CONST(ELM_DETOKENIZE_SKIP_SPECIAL);

    CONST(ELM_TOKEN_BOS);
    CONST(ELM_TOKEN_EOS);
    CONST(ELM_TOKEN_PAD);
    CONST(ELM_TOKEN_UNK);

    CONST(ELM_DATASET_TEXT);
    CONST(ELM_DATASET_PAIRS);
    CONST(ELM_DATASET_MCQ);

    CONST(ELM_ROLE_FORGET);
    CONST(ELM_ROLE_RETAIN);
    CONST(ELM_ROLE_CONSISTENCY);
    CONST(ELM_ROLE_TRAIN);
    return 0;
}
