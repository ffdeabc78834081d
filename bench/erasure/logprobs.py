"""Next-token log-probabilities from model.logits rows (bench/erasure/contrast.py, target_mcq.py).

model.logits(ids) gives one row per position; row t predicts token t + 1. A continuation of
n tokens that starts at position `start` is predicted by rows start - 1 .. start + n - 2.
"""
import numpy as np


def log_softmax(x):
    """log-softmax over the last axis, in float64."""
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def predicting(logits, start, n, tau=1.0):
    """log-softmax (temperature tau) of the n rows that predict tokens start .. start + n - 1."""
    return log_softmax(logits[start - 1:start - 1 + n] / tau)


def token_logprob(logits, start, ids, tau=1.0):
    """Sum of log P(ids[i] | ...) for the continuation ids starting at position start."""
    lp = predicting(logits, start, len(ids), tau)
    return float(lp[np.arange(len(ids)), ids].sum())
