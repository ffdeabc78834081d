"""Generation, consistency-data preparation and evaluation."""

import ctypes
from dataclasses import dataclass, field
from typing import List, Tuple

from . import _lib
from ._callbacks import ProgressCallback, TokenCallback
from ._errors import Status
from ._handle import locked
from ._lib import lib
from .config import config_arg
from .dataset import as_dataset


def _progress(progress, desc):
    """progress: None (Ctrl-C handling only), True (tqdm bar if installed) or a
    callable fn(elm.Progress) -> truthy to cancel."""
    if progress is True:
        return ProgressCallback(None, bar=True, desc=desc)
    if progress in (None, False):
        return ProgressCallback(None)
    return ProgressCallback(progress)


def generate(model, prompts, config=None, on_token=None, **kwargs):
    """Continue one prompt (str -> str) or several (list -> list of str).

    Keywords: gen_max_new_tokens, gen_temperature (0: greedy), gen_top_k,
    gen_top_p, gen_seed, gen_stop, gen_chat. on_token(index, id, text) is
    called per generated token; a truthy return stops generation."""
    single = isinstance(prompts, (str, bytes))
    plist = [prompts] if single else list(prompts)
    n = len(plist)
    enc = [_lib.enc(p) for p in plist]
    c_prompts = (ctypes.c_char_p * max(n, 1))(*enc)
    outputs = (ctypes.c_void_p * max(n, 1))()
    cfg, keep = config_arg(config, kwargs)
    # Without on_token, a callback is still passed so that Ctrl-C stops cleanly.
    cb = TokenCallback(on_token if on_token is not None else (lambda i, t, s: 0))
    with model._lock.calling("generate"):
        st = lib.elm_generate(model._ptr(), c_prompts, n, cfg, cb.c, None, outputs)
    try:
        texts = [(ctypes.string_at(outputs[i]).decode("utf-8", "replace") if outputs[i] else "") for i in range(n)]
    finally:
        for i in range(n):
            if outputs[i]:
                lib.elm_free(outputs[i])
    if cb.stopped and cb.exc is None and st == Status.E_CANCELLED:
        st = 0  # on_token asked to stop: the text so far is the result
    cb.finish(st)
    del keep, enc
    return texts[0] if single else texts


def prepare_consistency(model, forget, out_path, config=None, progress=None, **kwargs):
    """Erase-guided generation of consistency data for every text of `forget`
    (Dataset or path), written to out_path (resumes a partial file)."""
    ds = as_dataset(forget)
    cfg, keep = config_arg(config, kwargs)
    cb = _progress(progress, "prepare")
    with locked(model, ds, calling="prepare_consistency"):
        st = lib.elm_prepare_consistency(model._ptr(), ds._ptr(), cfg, _lib.enc(out_path), cb.c, None)
    cb.finish(st)
    del keep


@dataclass(frozen=True)
class McqResult:
    n: int
    n_correct: int
    accuracy: float
    ci: Tuple[float, float]  # 95% Wilson interval
    predicted: List[int]
    answers: List[int]
    margins: List[float]
    seconds: float
    # per question, one entry per choice: the choice's score (the sum of its
    # continuation tokens' log-probabilities; letter_logits: its logit) and
    # the number of continuation tokens scored
    loglik: List[List[float]] = field(default_factory=list)
    n_tokens: List[List[int]] = field(default_factory=list)
    # argmax of loglik (lm-eval's acc); the same as predicted unless cloze
    predicted_unnormalized: List[int] = field(default_factory=list)
    n_correct_unnormalized: int = 0
    accuracy_unnormalized: float = 0.0


def eval_mcq(model, path, config=None, progress=None, **kwargs):
    """Multiple-choice accuracy on a question file -> McqResult.
    Keywords: eval_mcq_subject, eval_mcq_scoring ("loglik", "letter_logits",
    "cloze": lm-eval's acc_norm, log-likelihood per character of each choice's
    text after "Question: ...\nAnswer:"), eval_limit, eval_batch."""
    cfg, keep = config_arg(config, kwargs)
    cb = _progress(progress, "mcq")
    r = ctypes.POINTER(_lib.elm_mcq_result)()
    with model._lock.calling("eval_mcq"):
        st = lib.elm_eval_mcq(model._ptr(), _lib.enc(path), cfg, cb.c, None, ctypes.byref(r))
    try:
        cb.finish(st)
        v = r.contents
        n = int(v.n)
        extra = {}
        if v.size >= ctypes.sizeof(_lib.elm_mcq_result) and v.loglik and v.n_tokens:
            w = int(v.stride)
            ll, nt = [], []
            for i in range(n):
                row_t = [int(v.n_tokens[i * w + j]) for j in range(w)]
                k = sum(1 for t in row_t if t > 0)
                ll.append([float(v.loglik[i * w + j]) for j in range(k)])
                nt.append(row_t[:k])
            extra = dict(loglik=ll, n_tokens=nt,
                         predicted_unnormalized=[v.predicted_unnormalized[i] for i in range(n)],
                         n_correct_unnormalized=int(v.n_correct_unnormalized),
                         accuracy_unnormalized=v.accuracy_unnormalized)
        return McqResult(
            n=n,
            n_correct=int(v.n_correct),
            accuracy=v.accuracy,
            ci=(v.ci_low, v.ci_high),
            predicted=[v.predicted[i] for i in range(n)] if v.predicted else [],
            answers=[v.answers[i] for i in range(n)] if v.answers else [],
            margins=[v.margins[i] for i in range(n)] if v.margins else [],
            seconds=v.seconds,
            **extra,
        )
    finally:
        if r:
            lib.elm_mcq_result_free(r)
        del keep


@dataclass(frozen=True)
class PplResult:
    perplexity: float
    nll: float
    n_tokens: int
    seconds: float


def _ppl(r):
    return PplResult(perplexity=r.perplexity, nll=r.nll, n_tokens=int(r.n_tokens), seconds=r.seconds)


def eval_perplexity(model, dataset, config=None, progress=None, **kwargs):
    """Token-level perplexity of a text Dataset (or path) -> PplResult.
    Keywords: eval_window, eval_stride."""
    ds = as_dataset(dataset)
    cfg, keep = config_arg(config, kwargs)
    cb = _progress(progress, "perplexity")
    r = _lib.new_struct(_lib.elm_ppl_result)
    with locked(model, ds, calling="eval_perplexity"):
        st = lib.elm_eval_perplexity(model._ptr(), ds._ptr(), cfg, cb.c, None, ctypes.byref(r))
    cb.finish(st)
    del keep
    return _ppl(r)


def eval_reverse_perplexity(generator, scorer, prompts, config=None, progress=None, **kwargs):
    """`generator` continues each prompt; `scorer` scores the text -> PplResult."""
    ds = as_dataset(prompts)
    cfg, keep = config_arg(config, kwargs)
    cb = _progress(progress, "reverse perplexity")
    r = _lib.new_struct(_lib.elm_ppl_result)
    with locked(generator, scorer, ds, calling="eval_reverse_perplexity"):
        st = lib.elm_eval_reverse_perplexity(
            generator._ptr(), scorer._ptr(), ds._ptr(), cfg, cb.c, None, ctypes.byref(r)
        )
    cb.finish(st)
    del keep
    return _ppl(r)


# -- runtime -------------------------------------------------------------------


def version():
    """Library version as (major, minor, patch)."""
    v = lib.elm_version()
    return (v // 10000, (v // 100) % 100, v % 100)


def version_string():
    return lib.elm_version_string().decode()


def backend_version():
    return lib.elm_backend_version().decode()


def cuda_available():
    return bool(lib.elm_cuda_available())


def cuda_device_count():
    return int(lib.elm_cuda_device_count())


def set_num_threads(n):
    _lib.check(lib.elm_set_num_threads(int(n)))


def get_num_threads():
    return int(lib.elm_get_num_threads())


def status_name(status):
    return lib.elm_status_name(int(status)).decode()
