"""Session: an erasure (or fine-tuning) run over a model."""

import ctypes
import json
import math
import os
import weakref
from dataclasses import dataclass

from . import _lib
from ._callbacks import ProgressCallback, _tqdm
from ._errors import ElmError, Status
from ._handle import Handle, locked
from ._lib import lib
from .config import config_arg
from .dataset import as_dataset

ROLE_FORGET, ROLE_RETAIN, ROLE_CONSISTENCY, ROLE_TRAIN = 0, 1, 2, 3
_ROLES = {"forget": ROLE_FORGET, "retain": ROLE_RETAIN, "consistency": ROLE_CONSISTENCY, "train": ROLE_TRAIN}


@dataclass(frozen=True)
class StepStats:
    step: int
    micro_steps: int
    loss: float
    loss_erase: float
    loss_retain: float
    loss_consistency: float
    loss_train: float
    grad_norm: float
    lr: float
    tokens: int
    seconds: float

    def metrics(self, elapsed=None):
        """The step as `elm erase --metrics` writes it: a dict with the same
        field names ("event": "step", ..., None where not computed)."""
        d = {"event": "step", "step": self.step, "micro_steps": self.micro_steps}
        for k in ("loss", "loss_erase", "loss_retain", "loss_consistency", "loss_train", "grad_norm", "lr"):
            v = getattr(self, k)
            d[k] = v if math.isfinite(v) else None
        d["tokens"] = self.tokens
        d["seconds"] = self.seconds
        d["elapsed"] = self.seconds if elapsed is None else elapsed
        return d

    def losses_line(self):
        """The loss line every front end prints (%.9g: round-trips fp32 exactly)."""
        return "step %d loss %.9g erase %.9g retain %.9g consistency %.9g" % (
            self.step,
            self.loss,
            self.loss_erase,
            self.loss_retain,
            self.loss_consistency,
        )


def _logger(logger):
    """(log(metrics), close or None) for Session.run's logger argument."""
    if logger is None:
        return None, None
    if isinstance(logger, (str, os.PathLike)):
        f = open(logger, "a", encoding="utf-8")

        def to_file(d):
            f.write(json.dumps(d) + "\n")
            f.flush()

        return to_file, f.close
    if hasattr(logger, "log") and callable(logger.log):  # wandb.Run, wandb module
        return (lambda d: logger.log({k: v for k, v in d.items() if k != "event"}, step=d["step"])), None
    if hasattr(logger, "add_scalar"):  # torch.utils.tensorboard.SummaryWriter, tensorboardX

        def to_tb(d):
            for k, v in d.items():
                if k not in ("event", "step") and isinstance(v, (int, float)):
                    logger.add_scalar("elm/" + k, v, d["step"])

        return to_tb, None
    if callable(logger):
        return logger, None
    raise TypeError("logger: expected a wandb run, a SummaryWriter, a callable or a path, got %r" % (logger,))


def _role(role):
    if isinstance(role, str):
        try:
            return _ROLES[role.lower()]
        except KeyError:
            raise ElmError(Status.E_INVALID, "unknown role %r; valid roles: %s" % (role, ", ".join(_ROLES))) from None
    return int(role)


class Session(Handle):
    """Session(model, config=None, **keywords), e.g.
    Session(model, lora_rank=4, erase_concept="zephyrite", optim_lr=1e-3).

    The session keeps its model and datasets alive (C holds its own
    references too), so they may be closed or dropped in any order.

    A session shares its model's lock (session._lock is model._lock): a step,
    apply_to_model and every other session call exclude the model's calls
    (logits, generate, load_adapter, evaluation...) on other threads, so an
    adapter is never replaced while another thread reads it. Sessions of one
    model therefore take turns."""

    _free_fn = "elm_session_free"

    def __init__(self, model, config=None, **kwargs):
        cfg, keep = config_arg(config, kwargs)
        h = _lib.elm_session_p()
        with model._lock:  # the model may not be closed meanwhile
            _lib.check(lib.elm_session_new(model._ptr(), cfg, ctypes.byref(h)))
        del keep
        super().__init__(h, lock=model._lock)
        self.model = model
        self._datasets = []
        self._user_progress = None
        # Always installed: it turns Ctrl-C during a step into a clean cancel.
        # A weak reference: the callback must not keep the session alive.
        ref = weakref.ref(self)

        def forward(p):
            me = ref()
            fn = me._user_progress if me is not None else None
            return fn(p) if fn is not None else 0

        self._cb = ProgressCallback(forward)
        try:
            _lib.check(lib.elm_session_set_progress(h, self._cb.c, None))
        except ElmError as e:
            if e.status != Status.E_UNSUPPORTED:  # symbol absent: no progress
                self.close()
                raise

    def _release(self):
        # The C session is gone: its callback and Python references may go.
        self._datasets = []
        self.model = None

    def set_progress(self, fn):
        """fn(elm.Progress) during steps; a truthy return cancels the step."""
        self._user_progress = fn

    def attach(self, role, dataset, group=0, config=None):
        """Attach a Dataset (or a path, opened with config) for a role:
        "forget", "retain", "consistency" or "train"."""
        r = _role(role)
        ds = as_dataset(dataset, config)
        with locked(self, ds):
            _lib.check(lib.elm_session_attach(self._ptr(), r, int(group), ds._ptr()))
            self._datasets.append(ds)
        return ds

    def set_concept(self, concept, group=0):
        with self._lock:
            _lib.check(lib.elm_session_set_concept(self._ptr(), int(group), _lib.enc(concept)))

    def step(self):
        """One optimizer step -> StepStats. KeyboardInterrupt (or any exception
        of a progress callback) cancels the step cleanly and is re-raised."""
        s = _lib.new_struct(_lib.elm_step_stats)
        with self._lock.calling("step"):
            h = self._ptr()
            self._cb.stopped = False
            st = lib.elm_session_step(h, ctypes.byref(s))
            self._cb.finish(st)
        return StepStats(
            step=s.step,
            micro_steps=s.micro_steps,
            loss=s.loss,
            loss_erase=s.loss_erase,
            loss_retain=s.loss_retain,
            loss_consistency=s.loss_consistency,
            loss_train=s.loss_train,
            grad_norm=s.grad_norm,
            lr=s.lr,
            tokens=s.tokens,
            seconds=s.seconds,
        )

    def run(self, steps, progress=True, logger=None):
        """Generator: `steps` optimizer steps, yielding StepStats after each.
        progress=True shows a tqdm bar when tqdm is installed.
        logger receives every step's StepStats.metrics() (the fields of
        `elm erase --metrics`): a wandb run (or anything with .log(dict,
        step=)), a TensorBoard SummaryWriter (anything with .add_scalar: one
        scalar per numeric field, tagged "elm/<field>"), a callable
        fn(metrics), or a path: a JSONL file the lines are appended to.
        Neither wandb nor tensorboard is needed by libelm itself."""
        log, close = _logger(logger)
        tq = _tqdm() if progress else None
        bar = tq(total=steps, desc="erase", leave=True) if tq is not None else None
        elapsed = 0.0
        try:
            for _ in range(int(steps)):
                stats = self.step()
                elapsed += stats.seconds
                if log is not None:
                    log(stats.metrics(elapsed))
                if bar is not None:
                    bar.set_postfix(loss="%.4g" % stats.loss, refresh=False)
                    bar.update(1)
                yield stats
        finally:
            if bar is not None:
                bar.close()
            if close is not None:
                close()

    def save(self, directory):
        """PEFT adapter directory plus resume state (atomic)."""
        with self._lock:
            _lib.check(lib.elm_session_save(self._ptr(), _lib.enc(directory)))

    def resume(self, directory):
        with self._lock:
            _lib.check(lib.elm_session_resume(self._ptr(), _lib.enc(directory)))

    def save_merged(self, directory):
        with self._lock:
            _lib.check(lib.elm_session_save_merged(self._ptr(), _lib.enc(directory)))

    def apply_to_model(self):
        """Attach the current adapter to the model for logits and generation."""
        with self._lock:
            _lib.check(lib.elm_session_apply_to_model(self._ptr()))
