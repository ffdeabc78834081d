"""Base class of the objects that own a libelm handle."""

import contextlib
import threading

from ._errors import ElmError, Status


class Handle:
    """Owns one C handle: freed by close(), the context manager or __del__.

    close() twice is fine. A lock serialises this object's C calls, so a
    handle used from two Python threads is never used by both at once, as
    elm.h requires. Handles whose C object works on another one share that
    one's lock (`lock=`): a Session uses its Model's lock, since its steps run
    the model and apply_to_model replaces the model's adapter, and a
    DetokStream its Tokenizer's. A call that also passes other handles holds
    their locks too (`locked`)."""

    _free_fn = None  # name of the elm_*_free function

    def __init__(self, h, lock=None):
        self._h = h
        self._lock = lock if lock is not None else threading.RLock()

    def _ptr(self):
        h = self._h
        if h is None:
            raise ElmError(Status.E_STATE, "%s is closed" % type(self).__name__)
        return h

    @property
    def closed(self):
        return self._h is None

    def close(self):
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            h, self._h = self._h, None
            if h is not None:
                from ._lib import lib

                getattr(lib, self._free_fn)(h)
            self._release()

    def _release(self):
        """Drop Python references held for the C object (subclasses)."""

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: nothing to do
            pass

    def __enter__(self):
        self._ptr()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self._h is None else "open"
        return "<elm.%s %s>" % (type(self).__name__, state)


def locked(*handles):
    """A context holding the locks of `handles` (each lock once, in one fixed
    order, so that two threads locking the same handles cannot deadlock)."""
    locks = {id(h._lock): h._lock for h in handles}
    stack = contextlib.ExitStack()
    try:
        for k in sorted(locks):
            stack.enter_context(locks[k])
    except BaseException:
        stack.close()
        raise
    return stack
