/* The names elm.h's "Deprecated names" section keeps for one release: each
 * is the renamed function, still exported so that programs built against
 * 0.1 keep linking. */
#include "elm.h"

elm_status elm_tokenize(const elm_tokenizer *tok, const char *text, size_t len, unsigned flags, int32_t **ids,
                        size_t *n_ids)
{
    return elm_tokenizer_encode(tok, text, len, flags, ids, n_ids);
}

elm_status elm_detokenize(const elm_tokenizer *tok, const int32_t *ids, size_t n_ids, unsigned flags, char **text)
{
    return elm_tokenizer_decode(tok, ids, n_ids, flags, text);
}

elm_status elm_token_piece(const elm_tokenizer *tok, int32_t id, const char **piece)
{
    return elm_tokenizer_piece(tok, id, piece);
}

elm_status elm_chat_apply(const elm_tokenizer *tok, const elm_chat_message *msgs, size_t n_msgs,
                          int add_generation_prompt, const elm_config *cfg, char **out)
{
    return elm_tokenizer_apply_chat(tok, msgs, n_msgs, add_generation_prompt, cfg, out);
}

elm_status elm_dataset_open(const char *path, const elm_config *cfg, elm_dataset **out)
{
    return elm_dataset_load(path, cfg, out);
}

elm_status elm_session_create(elm_model *model, const elm_config *cfg, elm_session **out)
{
    return elm_session_new(model, cfg, out);
}
