/* elm erase --metrics FILE.jsonl: one JSON object per line, for loggers and
 * plots. Fields (stable; a number that was not computed is null):
 *   {"event": "step", "step", "micro_steps", "loss", "loss_erase",
 *    "loss_retain", "loss_consistency", "loss_train", "grad_norm", "lr",
 *    "tokens", "seconds", "elapsed"}   after every optimizer step
 *   {"event": "save", "step", "dir"}    after every save (--save-every, the end)
 * "seconds" is the step's wall time, "elapsed" the run's training time so
 * far. The values are the elm_step_stats of elm_session_step, unrounded
 * (%.17g). A run with --resume appends; any other run starts the file anew. */
#ifndef ELM_CLI_METRICS_H
#define ELM_CLI_METRICS_H

#include <stdio.h>

#include "elm.h"

/* NULL and 0 when path is NULL; 1 after printing the error otherwise. */
int elm_cli_metrics_open(const char *cmd, const char *path, int append, FILE **out);
void elm_cli_metrics_step(FILE *f, const elm_step_stats *st, double elapsed);
void elm_cli_metrics_save(FILE *f, int64_t step, const char *dir);

#endif
