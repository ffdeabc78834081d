#include "config/schema.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#define I ELM_TYPE_INT
#define D ELM_TYPE_DOUBLE
#define S ELM_TYPE_STRING
#define B ELM_TYPE_BOOL
#define C ELM_TYPE_CHOICE
#define BIG 9.0e15

/* Keep sorted by section; append-only within the ABI's promise that keys,
 * once published, keep their meaning. Defaults follow the ELM reference
 * implementation unless the doc says otherwise. */
const elm_schema_entry elm_schema[] = {
    /* runtime */
    {"runtime.device", S, "cpu", 0, 0, NULL, "compute device: cpu, cuda or cuda:N"},
    {"runtime.dtype", C, "float32", 0, 0, "auto|float32|bfloat16|float16",
     "compute dtype of the frozen base weights (auto: bfloat16 where the CPU has AMX/AVX512-BF16 or on CUDA, else float32; "
     "bfloat16 on a CPU without them runs libtorch's fallback loop, ~40x slower, accumulating in bf16)"},
    {"runtime.threads", I, "0", 0, 4096, NULL, "intra-op threads (0: the CPUs this process may use; one count per process: a model load sets it only when this key is set, or when nothing has set it yet)"},
    {"runtime.seed", I, "0", 0, BIG, NULL, "seed of every random draw (templates, dropout, sampling)"},
    {"runtime.log_level", C, "warn", 0, 0, "error|warn|info|debug", "most detailed level the elm CLI logs to stderr (the library reads no log level from a config: callers pass theirs to elm_set_log_callback)"},
    {"runtime.cpu_cache_mb", I, "256", 0, 1048576, NULL,
     "MiB of freed large CPU tensor blocks kept for reuse: less time re-faulting the same pages every step, "
     "more peak memory (0: off; one budget per process: a model load sets it only when this key is set, or when nothing has set it yet)"},

    /* data */
    {"data.format", C, "auto", 0, 0, "auto|jsonl|text|paragraphs|json|consistency|mcq",
     "dataset file format (auto: by extension and content)"},
    {"data.text_field", S, "text", 0, 0, NULL, "field holding the text in JSONL/JSON object records"},
    {"data.min_chars", I, "50", 0, BIG, NULL, "drop texts of at most this many characters"},
    {"data.max_chars", I, "700", 0, BIG, NULL, "cut texts to this many characters (0: no cut)"},

    /* LoRA */
    {"lora.rank", I, "256", 1, 65536, NULL, "LoRA rank r (the paper's runs use 4)"},
    {"lora.alpha", D, "16", 1e-9, 1e9, NULL, "LoRA alpha; the update is scaled by alpha/r"},
    {"lora.dropout", D, "0.05", 0, 0.999, NULL, "dropout on the LoRA input during training"},
    {"lora.targets", S, "q,k,v,o,gate,up,down", 0, 0, NULL,
     "modules that get LoRA: comma list of q,k,v,o,gate,up,down"},
    {"lora.layers", S, "4-7", 0, 0, NULL, "decoder layers that get LoRA: list/ranges such as 4-7 or 0,2,5-9 (all: every layer)"},
    {"lora.compute_dtype", C, "float32", 0, 0, "float32|model",
     "dtype of the LoRA matmuls: float32 (PEFT's default) or model (the base's compute dtype, e.g. bfloat16; A, B, their gradients and the optimizer state stay float32)"},
    {"lora.init_from", S, "", 0, 0, NULL, "PEFT adapter directory to start from instead of PEFT's random init"},

    /* the ELM objective */
    {"erase.objective", C, "elm", 0, 0, "elm|finetune|rmu|grad_diff|npo",
     "elm: erase+retain+consistency; finetune: plain next-token loss on the train set; baselines on the same LoRA, optimizer and data (docs/erase.md): rmu (Li et al. 2024: layer erase.rmu_layer's forget states to c*u, retain states to the frozen model's), grad_diff (ascent on forget, descent on retain NLL), npo (Zhang et al. 2024, with the retain NLL)"},
    {"erase.rmu_layer", I, "7", 0, 100000, NULL,
     "rmu: the decoder layer (0-based) whose output is steered; every LoRA layer must be at or below it (WMDP code: 7 for Zephyr-7B)"},
    {"erase.rmu_coeff", D, "6.5", 0, 1e9, NULL, "rmu: steering coefficient c, the norm of the forget target c*u (WMDP: 6.5 for Zephyr-7B)"},
    {"erase.rmu_alpha", D, "1200", 0, 1e12, NULL, "rmu: weight alpha of the retain activation MSE (WMDP: 1200 for Zephyr-7B)"},
    {"erase.npo_beta", D, "0.1", 1e-9, 1e9, NULL, "npo: inverse temperature beta of the NPO loss (NPO paper and code: 0.1)"},
    {"erase.concept", S, "", 0, 0, NULL, "concept text put into the expert/novice templates ({concept})"},
    {"erase.eta", D, "1000", 0, 1e9, NULL, "guidance strength eta of the erase target"},
    {"erase.eta_schedule", C, "ramp", 0, 0, "ramp|constant", "ramp: eta grows linearly from 1 over the text's positions (reference code); constant (paper)"},
    {"erase.tau", D, "1.2", 1e-6, 1e6, NULL, "temperature on the frozen model's logits"},
    {"erase.top_k", I, "50", 0, 1000000, NULL, "keep the top-k entries of the erase target (0: all)"},
    {"erase.loss", C, "soft_ce", 0, 0, "soft_ce|kl|hard", "erase loss against the target distribution"},
    {"erase.action", C, "erase", 0, 0, "erase|enhance|random", "erase (push away from the expert), enhance (towards), random (ablation)"},
    {"erase.retain_loss", C, "hard", 0, 0, "hard|soft", "retain loss: CE to the frozen argmax (reference) or to its distribution (paper)"},
    {"erase.lambda_erase", D, "1", 0, 1e9, NULL, "weight of the erase loss"},
    {"erase.lambda_retain", D, "1", 0, 1e9, NULL, "weight of the retain loss"},
    {"erase.lambda_consistency", D, "1", 0, 1e9, NULL, "weight of the consistency loss"},
    {"erase.expert_templates", S, "", 0, 0, NULL, "file of expert prefixes, one per line with {concept} (empty: built-in set)"},
    {"erase.novice_templates", S, "", 0, 0, NULL, "file of novice prefixes, one per line with {concept} (empty: built-in set)"},
    {"erase.template_choice", C, "random", 0, 0, "random|cycle", "how a micro-step picks its expert/novice template"},
    {"erase.alignment", C, "concat", 0, 0, "concat|separate",
     "concat: tokenize prefix+text as one string (reference); separate: prefix and text tokenized apart (exact, cacheable)"},
    {"erase.consistency_tokens", C, "all", 0, 0, "all|reference",
     "all: tok(prompt) + tok(continuation), every continuation token scored; reference: erase.py's prompt+continuation "
     "tokenized as one string, its first continuation token not scored"},
    {"erase.mix", S, "0", 0, 0, NULL, "dataset groups in sampling order, e.g. 0,0,1"},
    {"erase.max_tokens", I, "0", 0, 1000000, NULL, "cut tokenized texts to this many tokens (0: no cut)"},
    {"erase.batch", I, "1", 1, 4096, NULL,
     "micro-steps run together: their texts share one right-padded forward per term (same gradient sum as one at a time, up to rounding; dropout draws come in another order)"},
    {"erase.prefix_cache", B, "false", 0, 0, NULL,
     "compute each expert/novice prefix's frozen keys/values once and reuse them (the shared leading tokens of the prefixed texts are not run again; pays off for long prefixes — measured 3-5% slower with the built-in ~15-token ones on a 2-core CPU)"},
    {"erase.frozen_cache", S, "", 0, 0, NULL,
     "directory where the frozen model's erase targets and retain labels are stored and reused by later epochs and runs (exact for the same texts, templates and settings; empty: off)"},

    /* optimisation */
    {"optim.lr", D, "5e-5", 0, 10, NULL, "AdamW learning rate"},
    {"optim.beta1", D, "0.9", 0, 0.999999, NULL, "AdamW beta1"},
    {"optim.beta2", D, "0.999", 0, 0.999999999, NULL, "AdamW beta2"},
    {"optim.eps", D, "1e-8", 0, 1, NULL, "AdamW epsilon"},
    {"optim.weight_decay", D, "0.01", 0, 10, NULL, "AdamW decoupled weight decay (torch default)"},
    {"optim.accum", I, "4", 1, 1000000, NULL, "micro-steps (one text each) per optimizer step"},
    {"optim.clip", D, "0", 0, 1e9, NULL, "clip the gradient norm to this (0: off)"},
    {"optim.schedule", C, "constant", 0, 0, "constant|linear|cosine", "learning-rate schedule after warm-up"},
    {"optim.warmup", I, "0", 0, BIG, NULL, "linear warm-up steps"},
    {"optim.steps", I, "0", 0, BIG, NULL, "planned optimizer steps (for the schedule; CLI: --steps)"},

    /* generation */
    {"gen.max_new_tokens", I, "128", 0, 1000000, NULL, "most tokens generated per prompt"},
    {"gen.temperature", D, "0", 0, 100, NULL, "sampling temperature (0: greedy)"},
    {"gen.top_k", I, "0", 0, 10000000, NULL, "sample among the k most likely tokens (0: off)"},
    {"gen.top_p", D, "1", 0, 1, NULL, "nucleus sampling mass (1: off)"},
    {"gen.seed", I, "0", 0, BIG, NULL, "seed of the sampler"},
    {"gen.stop", S, "", 0, 0, NULL, "stop strings separated by ;"},
    {"gen.chat", B, "false", 0, 0, NULL, "wrap each prompt in the model's chat template"},

    /* consistency data */
    {"prepare.guidance", D, "3", 0, 1e6, NULL, "erase guidance gamma of the generator"},
    {"prepare.temperature", D, "-1", -1, 1e6, NULL,
     "sampling temperature applied after the guidance (-1: the model's generation_config.json, else 1, as transformers; 0: greedy)"},
    {"prepare.top_k", I, "0", -1, 10000000, NULL,
     "top-k after the temperature (0: off, as erase.py passes top_k=None; -1: the model's generation_config.json, else 50, as transformers)"},
    {"prepare.top_p", D, "-1", -1, 1, NULL,
     "top-p (nucleus) after top-k (-1: the model's generation_config.json, else 1, as transformers; 1: off)"},
    {"prepare.redirect_sentences", S, "", 0, 0, NULL,
     "file of change-of-subject sentences ending each consistency prompt, one per line (empty: the built-in 20)"},
    {"prepare.join", C, "space", 0, 0, "space|reference",
     "space: '. ' + sentence + ' ' + the generated text without its leading whitespace; reference: erase.py's "
     "decode(prompt + generated ids) with every occurrence of the cut removed"},
    {"prepare.min_new_tokens", I, "100", 1, 100000, NULL, "fewest tokens generated per entry"},
    {"prepare.max_new_tokens", I, "300", 1, 100000, NULL, "most tokens generated per entry"},
    {"prepare.min_cut", I, "50", 1, 1000000, NULL, "shortest cut of the forget text (characters)"},
    {"prepare.max_cut", I, "300", 1, 1000000, NULL, "longest cut of the forget text (characters)"},
    {"prepare.group", I, "0", 0, 1000000, NULL, "dataset group index the entries are stored under"},
    {"prepare.limit", I, "0", 0, BIG, NULL, "entries to make (0: one per forget text)"},

    /* evaluation */
    {"eval.mcq_subject", S, "", 0, 0, NULL, "subject in the header line 'The following are multiple choice questions (with answers) about {subject}.' (empty: no header)"},
    {"eval.mcq_scoring", C, "loglik", 0, 0, "loglik|letter_logits|cloze", "loglik: log-likelihood of ' A'..' D' (lm-eval); letter_logits: argmax of the letters' logits (reference); cloze: each choice's text after 'Question: ...\\nAnswer:', log-likelihood per character (lm-eval acc_norm; docs/eval.md)"},
    {"eval.limit", I, "0", 0, BIG, NULL, "evaluate only the first N items (0: all)"},
    {"eval.batch", I, "8", 1, 4096, NULL, "sequences per forward pass (eval mcq: questions per step; cloze scores all choices of a question against one pass of its context)"},
    {"eval.window", I, "0", 0, 10000000, NULL, "perplexity window in tokens (0: the model's context)"},
    {"eval.stride", I, "0", 0, 10000000, NULL, "perplexity window stride (0: window/2)"},

    /* chat templates */
    {"chat.fallback", C, "none", 0, 0, "none|chatml|zephyr|llama2|llama3", "template to use when the model's own is not recognised (none: error)"},
};

const size_t elm_schema_count = sizeof elm_schema / sizeof elm_schema[0];

long elm_schema_index(const char *key)
{
    if (!key)
        return -1;
    for (size_t i = 0; i < elm_schema_count; i++)
        if (strcmp(elm_schema[i].key, key) == 0)
            return (long)i;
    return -1;
}
