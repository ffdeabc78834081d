"""Base class of the objects that own a libelm handle."""

import contextlib
import threading

from ._errors import ElmError, Status


class CallLock:
    """A re-entrant lock that knows when a C call with Python callbacks runs
    under it (`calling`), and then refuses re-entry from that call's thread.
    Other threads simply wait: they can only get the lock once the call is
    over."""

    def __init__(self):
        self._rlock = threading.RLock()
        self._calling = None  # name of the running call with callbacks

    def __enter__(self):
        self._rlock.acquire()
        if self._calling is not None:
            # only the thread that runs the call can hold the lock now
            name = self._calling
            self._rlock.release()
            raise ElmError(
                Status.E_STATE,
                "called from inside a callback of the running %s on the same model: "
                "call it after %s returns (a callback may return True to stop it)" % (name, name),
            )
        return self

    def __exit__(self, *exc):
        self._rlock.release()
        return False

    @contextlib.contextmanager
    def calling(self, name):
        """Hold the lock for a C call named `name` that may call back into
        Python; re-entry from its callbacks is refused until it returns."""
        with self:
            self._calling = name
            try:
                yield self
            finally:
                self._calling = None


class Handle:
    """Owns one C handle: freed by close(), the context manager or __del__.

    close() twice is fine. A lock serialises this object's C calls, so a
    handle used from two Python threads is never used by both at once, as
    elm.h requires. Handles whose C object works on another one share that
    one's lock (`lock=`): a Session uses its Model's lock, since its steps run
    the model and apply_to_model replaces the model's adapter, and a
    DetokStream its Tokenizer's. A call that also passes other handles holds
    their locks too (`locked`).

    The lock is re-entrant, so a Python callback of a running call (progress,
    on_token) could otherwise reach the same handles on the same thread and
    free or change them under the C call. While such a call runs, its locks
    refuse their own thread: any call on those handles from inside the
    callback raises ElmError(E_STATE) (the running call then stops with it)."""

    _free_fn = None  # name of the elm_*_free function

    def __init__(self, h, lock=None):
        self._h = h
        self._lock = lock if lock is not None else CallLock()

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


def locked(*handles, calling=None):
    """A context holding the locks of `handles` (each lock once, in one fixed
    order, so that two threads locking the same handles cannot deadlock).
    calling: the name of a C call with Python callbacks (CallLock.calling)."""
    locks = {id(h._lock): h._lock for h in handles}
    stack = contextlib.ExitStack()
    try:
        for k in sorted(locks):
            stack.enter_context(locks[k].calling(calling) if calling else locks[k])
    except BaseException:
        stack.close()
        raise
    return stack
