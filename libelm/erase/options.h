/* Parsing of the erase/lora/optim keys that are more than a number:
 * layer lists, target modules, the group mix; the learning-rate schedule
 * and torch-exact linspace used by the eta ramp. */
#ifndef ELM_ERASE_OPTIONS_H
#define ELM_ERASE_OPTIONS_H

#include <stdint.h>

#include "elm.h"

typedef enum elm_lr_schedule { ELM_LR_CONSTANT = 0, ELM_LR_LINEAR, ELM_LR_COSINE } elm_lr_schedule;

/* lora.layers: "4-7", "0,2,5-9", "all". mask gets n_layers flags. A layer
 * out of range or a malformed item is ELM_E_INVALID naming it. */
elm_status elm_parse_layers(const char *text, int n_layers, unsigned *mask);
/* lora.targets: comma list of q,k,v,o,gate,up,down (or q_proj, ...). */
elm_status elm_parse_targets(const char *text, unsigned *module_mask);
/* erase.mix: comma list of group indices >= 0. Ownership: *mix malloc'd. */
elm_status elm_parse_mix(const char *text, int **mix, int *n);

/* Learning rate of optimizer step `step` (0-based): linear warm-up
 * lr*(step+1)/warmup for step < warmup, then constant, or linear / cosine
 * decay to 0 at step == total (total <= warmup: constant). */
double elm_lr_at(double lr, elm_lr_schedule sched, int64_t warmup, int64_t total, int64_t step);

/* torch.linspace(start, end, n) in float64, bit for bit (the first half
 * counts up from start, the second half down from end). */
void elm_linspace(double start, double end, int64_t n, double *out);

#endif
