"""Python callables behind libelm's C callbacks.

Rules kept here:
  - the ctypes CFUNCTYPE object is held by the wrapper, and the wrapper by
    whoever passed it to C, for as long as C may call it;
  - no Python exception ever escapes into C: a callback catches everything
    (KeyboardInterrupt included), stores it, and returns non-zero so that
    libelm stops cleanly with ELM_E_CANCELLED; the caller re-raises it once
    the C call has returned.
"""

import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Optional

from . import _lib
from ._errors import ElmError, Status
from ._lib import lib


@dataclass(frozen=True)
class Progress:
    what: str
    done: int
    total: int
    seconds: float
    detail: Optional[str]


def _tqdm():
    try:
        from tqdm.auto import tqdm  # notebooks get the widget, terminals the text bar
    except Exception:  # noqa: BLE001 - tqdm absent or broken: no bar
        return None
    return tqdm


class _Guarded:
    """Base: stores the first exception a callback raised."""

    def __init__(self):
        self.exc = None
        self.stopped = False  # the callable asked to stop (returned truthy)

    def finish(self, status):
        """After the C call: raise the stored exception, or ElmError for a
        failed status (its message read first, on this thread)."""
        msg = _lib.last_error() if status != 0 else ""
        self.close()
        exc, self.exc = self.exc, None
        if exc is not None:
            raise exc
        if status != 0:
            raise ElmError(status, msg)

    def close(self):
        pass


class ProgressCallback(_Guarded):
    """fn(Progress) -> truthy to cancel; bar=True shows a tqdm bar if installed.
    Always installed (even with neither) so that Ctrl-C cancels long calls."""

    def __init__(self, fn=None, bar=False, desc=None):
        super().__init__()
        self.fn = fn
        self.desc = desc
        self._tqdm = _tqdm() if bar else None
        self._bar = None
        self.c = _lib.elm_progress_fn(self._call)

    def _call(self, p, user):
        try:
            if self.exc is not None or self.stopped:
                return 1
            p = p.contents
            pr = Progress(
                what=(p.what or b"").decode("utf-8", "replace"),
                done=int(p.done),
                total=int(p.total),
                seconds=float(p.seconds),
                detail=p.detail.decode("utf-8", "replace") if p.detail else None,
            )
            if self._tqdm is not None:
                self._update_bar(pr)
            if self.fn is not None and self.fn(pr):
                self.stopped = True
                return 1
            return 0
        except BaseException as e:  # noqa: BLE001 - must not reach C
            self.exc = e
            return 1

    def _update_bar(self, pr):
        if self._bar is None:
            self._bar = self._tqdm(total=pr.total or None, desc=self.desc or pr.what, leave=False)
        if pr.total and self._bar.total != pr.total:
            self._bar.total = pr.total
        self._bar.n = pr.done
        if pr.detail:
            self._bar.set_postfix_str(pr.detail, refresh=False)
        self._bar.refresh()

    def close(self):
        if self._bar is not None:
            try:
                self._bar.close()
            finally:
                self._bar = None


class TokenCallback(_Guarded):
    """fn(index, id, text) -> truthy to stop generation."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.c = _lib.elm_token_fn(self._call)

    def _call(self, index, tid, text, user):
        try:
            if self.exc is not None or self.stopped:
                return 1
            t = text.decode("utf-8", "replace") if text else ""
            if self.fn(int(index), int(tid), t):
                self.stopped = True
                return 1
            return 0
        except BaseException as e:  # noqa: BLE001 - must not reach C
            self.exc = e
            return 1


# ---------------------------------------------------------------------------
# Logging (process-wide)
# ---------------------------------------------------------------------------

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 0, 1, 2, 3
_log_lock = threading.Lock()
_log_keep = []  # every installed CFUNCTYPE: another thread may still be inside one


def set_log_callback(fn, max_level=LOG_WARN):
    """Install fn(level:int, message:str) for libelm's log messages (None: discard).
    Exceptions raised by fn are reported on stderr, never passed to C."""
    if fn is None:
        c = _lib.elm_log_fn()  # NULL
    else:

        def _call(level, message, user):
            try:
                fn(int(level), (message or b"").decode("utf-8", "replace"))
            except BaseException:  # noqa: BLE001 - must not reach C
                try:
                    traceback.print_exc(file=sys.stderr)
                except BaseException:  # noqa: BLE001
                    pass

        c = _lib.elm_log_fn(_call)
    with _log_lock:
        lib.elm_set_log_callback(c, None, int(max_level))
        if fn is not None:
            _log_keep.append(c)


def log_to_logging(max_level=LOG_INFO, logger_name="elm"):
    """Route libelm's log messages to the `logging` module."""
    import logging

    logger = logging.getLogger(logger_name)
    levels = {LOG_ERROR: logging.ERROR, LOG_WARN: logging.WARNING, LOG_INFO: logging.INFO, LOG_DEBUG: logging.DEBUG}
    set_log_callback(lambda lv, msg: logger.log(levels.get(lv, logging.INFO), "%s", msg), max_level)


__all__ = ["Progress", "ProgressCallback", "TokenCallback", "set_log_callback", "log_to_logging", "Status"]
