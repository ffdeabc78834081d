"""Dataset: text records, consistency pairs or multiple-choice questions."""

import ctypes

from . import _lib
from ._errors import ElmError, Status
from ._handle import Handle
from ._lib import lib
from .config import config_arg

KIND_TEXT, KIND_PAIRS, KIND_MCQ = 0, 1, 2
_KIND_NAMES = {KIND_TEXT: "text", KIND_PAIRS: "pairs", KIND_MCQ: "mcq"}


class Dataset(Handle):
    """Dataset(path, config=None, **keywords): JSONL, text, JSON lists, the
    reference's consistency JSON. Keywords: data_format, data_text_field, ..."""

    _free_fn = "elm_dataset_free"

    def __init__(self, path, config=None, **kwargs):
        cfg, keep = config_arg(config, kwargs)
        h = _lib.elm_dataset_p()
        _lib.check(lib.elm_dataset_load(_lib.enc(path), cfg, ctypes.byref(h)))
        del keep
        super().__init__(h)
        self.path = str(path)

    @classmethod
    def open(cls, path, config=None, **kwargs):
        return cls(path, config, **kwargs)

    @property
    def kind(self):
        """"text", "pairs" or "mcq"."""
        with self._lock:
            k = lib.elm_dataset_get_kind(self._ptr())
        return _KIND_NAMES.get(k, str(k))

    def __len__(self):
        with self._lock:
            return int(lib.elm_dataset_size(self._ptr()))

    def __getitem__(self, i):
        """Text of record i (TEXT) or (prompt, continuation) of pair i (PAIRS)."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("dataset index %d out of range (%d records)" % (i, n))
        with self._lock:
            h = self._ptr()
            if lib.elm_dataset_get_kind(h) == KIND_PAIRS:
                a, b = ctypes.c_char_p(), ctypes.c_char_p()
                _lib.check(lib.elm_dataset_pair(h, i, ctypes.byref(a), ctypes.byref(b)))
                return (a.value or b"").decode("utf-8", "replace"), (b.value or b"").decode("utf-8", "replace")
            t = ctypes.c_char_p()
            _lib.check(lib.elm_dataset_text(h, i, ctypes.byref(t)))
            return (t.value or b"").decode("utf-8", "replace")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        if self.closed:
            return "<elm.Dataset closed>"
        return "<elm.Dataset %s %s, %d records>" % (self.path, self.kind, len(self))


def as_dataset(ds, config=None):
    """A Dataset from a Dataset or a path (opened with config)."""
    if isinstance(ds, Dataset):
        return ds
    if ds is None:
        raise ElmError(Status.E_INVALID, "dataset is None")
    return Dataset(ds, config)


def read_keywords(path, key=None):
    """The concept text of a keyword file (the authors' wmdp-keywords.json
    shape: a list of strings, or an object of such lists): one list's
    keywords joined by ", ". key names the list of an object (None: a bare
    list, or an object's only list). Raises ElmError naming the file.

        session.set_concept(elm.read_keywords("wmdp-keywords.json", "bio"))
    """
    p = ctypes.c_void_p()
    _lib.check(lib.elm_keywords_read(_lib.enc(str(path)), _lib.enc(key) if key else None, ctypes.byref(p)))
    return _lib.take_string(p.value) or ""
