"""elm.eval_mcq's per-choice fields, cloze scoring (lm-eval's acc_norm) included,
on the tiny llama-tied fixture and tests/fixtures/eval/tiny-mcq.json."""

import json
import math
import os

import numpy as np

import elm
from conftest import REPO

MCQ = os.path.join(REPO, "tests", "fixtures", "eval", "tiny-mcq.json")


def _alone(model, ids, n_ctx):
    """sum of log P(ids[t]) for t >= n_ctx from one pass of ids alone (float64)."""
    x = model.logits([ids])[0].astype(np.float64)[n_ctx - 1:len(ids) - 1]
    mx = x.max(axis=1, keepdims=True)
    lse = mx[:, 0] + np.log(np.exp(x - mx).sum(axis=1))
    return float((x[np.arange(len(x)), ids[n_ctx:]] - lse).sum())


def _argmax(xs):
    return max(range(len(xs)), key=xs.__getitem__)


def test_cloze_fields(model):
    items = json.load(open(MCQ, encoding="utf-8"))
    r = elm.eval_mcq(model, MCQ, eval_mcq_scoring="cloze", eval_batch=3)
    assert r.n == len(items) == len(r.loglik) == len(r.n_tokens) == len(r.predicted_unnormalized)
    tok = model.tokenizer
    right = right_u = 0
    for i, it in enumerate(items):
        assert len(r.loglik[i]) == len(r.n_tokens[i]) == len(it["choices"])
        ctx = f"Question: {it['question'].strip()}\nAnswer:"
        c = tok.encode(ctx)
        for j, ch in enumerate(it["choices"]):
            w = tok.encode(ctx + " " + ch)
            ids = c + w[len(c):]
            assert r.n_tokens[i][j] == len(w) - len(c) >= 1
            assert math.isclose(r.loglik[i][j], _alone(model, ids, len(c)), abs_tol=1e-5)
        norm = [ll / len(ch) for ll, ch in zip(r.loglik[i], it["choices"])]
        assert r.predicted[i] == _argmax(norm)
        assert r.predicted_unnormalized[i] == _argmax(r.loglik[i])
        right += r.predicted[i] == it["answer"]
        right_u += r.predicted_unnormalized[i] == it["answer"]
    assert r.n_correct == right and math.isclose(r.accuracy, right / r.n)
    assert r.n_correct_unnormalized == right_u and math.isclose(r.accuracy_unnormalized, right_u / r.n)


def test_letter_scoring_fills_the_same_fields(model):
    r = elm.eval_mcq(model, MCQ, eval_limit=3)
    assert r.n == 3 and len(r.loglik) == 3
    assert r.predicted_unnormalized == r.predicted
    assert r.n_correct_unnormalized == r.n_correct
    for i in range(3):
        assert all(ll <= 0.0 for ll in r.loglik[i])
        assert r.predicted[i] == _argmax(r.loglik[i])


def test_bad_scoring_is_a_clear_error(model):
    try:
        elm.eval_mcq(model, MCQ, eval_mcq_scoring="per_char")
    except elm.ElmError as e:
        assert "eval.mcq_scoring" in str(e)
    else:
        raise AssertionError("eval_mcq accepted eval_mcq_scoring='per_char'")
