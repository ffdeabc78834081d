"""Config: keyword arguments checked against libelm's one schema table."""

import ctypes
import difflib
from dataclasses import dataclass
from typing import Optional

from . import _lib
from ._errors import ElmError, Status
from ._handle import Handle
from ._lib import lib

TYPE_INT, TYPE_DOUBLE, TYPE_STRING, TYPE_BOOL, TYPE_CHOICE = 0, 1, 2, 3, 4
_TYPE_NAMES = {TYPE_INT: "int", TYPE_DOUBLE: "double", TYPE_STRING: "string", TYPE_BOOL: "bool", TYPE_CHOICE: "choice"}


@dataclass(frozen=True)
class KeyInfo:
    key: str  # "lora.rank"
    keyword: str  # "lora_rank"
    type: str  # "int", "double", "string", "bool", "choice"
    default: str
    min: float
    max: float
    choices: Optional[tuple]
    doc: str


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _info_from_c(k):
    key = _s(k.key)
    return KeyInfo(
        key=key,
        keyword=key.replace(".", "_"),
        type=_TYPE_NAMES.get(k.type, str(k.type)),
        default=_s(k.default_text) or "",
        min=k.min,
        max=k.max,
        choices=tuple(_s(k.choices).split("|")) if k.choices else None,
        doc=_s(k.doc) or "",
    )


_schema_cache = None


def schema():
    """All schema entries (elm_config_key_count / elm_config_key_info), in order."""
    global _schema_cache
    if _schema_cache is None:
        out = []
        for i in range(lib.elm_config_key_count()):
            k = _lib.new_struct(_lib.elm_key_info)
            _lib.check(lib.elm_config_key_info(i, ctypes.byref(k)))
            out.append(_info_from_c(k))
        _schema_cache = out
    return list(_schema_cache)


def _by_key():
    return {k.key: k for k in schema()}


def _by_keyword():
    return {k.keyword: k for k in schema()}


def _flatten(prefix, value, out):
    """Nested keywords: lora={"rank": 4} -> ("lora.rank", 4)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(prefix + "." + k if prefix else k, v, out)
    else:
        out.append((prefix, value))


class Config(Handle):
    """An elm_config. Keys by their schema name or as keywords:

        Config(lora_rank=4, optim_lr=1e-3)            # dots -> underscores
        Config(lora={"rank": 4}, optim={"lr": 1e-3})  # nested
        Config({"lora.rank": 4})                      # dotted, in a dict

    An unknown keyword raises ElmError(ELM_E_INVALID) listing the valid ones."""

    _free_fn = "elm_config_free"

    def __init__(self, settings=None, **kwargs):
        h = _lib.elm_config_p()
        _lib.check(lib.elm_config_new(ctypes.byref(h)))
        super().__init__(h)
        if settings:
            self.update(settings)
        if kwargs:
            self.update(**kwargs)

    # -- construction helpers -------------------------------------------------

    @classmethod
    def of(cls, config=None, **kwargs):
        """A Config from None / a Config / a dict, plus keywords. Returns
        (config, owned): owned is True when a new object was made."""
        if config is None and not kwargs:
            return None, False
        if isinstance(config, Config) and not kwargs:
            return config, False
        if isinstance(config, Config):
            c = config.copy()
        else:
            c = Config(config)
        c.update(**kwargs)
        return c, True

    def copy(self):
        h = _lib.elm_config_p()
        with self._lock:
            _lib.check(lib.elm_config_clone(self._ptr(), ctypes.byref(h)))
        c = Config.__new__(Config)
        Handle.__init__(c, h)
        return c

    __copy__ = copy

    # -- setting ----------------------------------------------------------------

    @staticmethod
    def _resolve(name):
        """A dotted key or a keyword (underscores) -> KeyInfo, or ElmError."""
        by_key = _by_key()
        if name in by_key:
            return by_key[name]
        by_kw = _by_keyword()
        if name in by_kw:
            return by_kw[name]
        valid = sorted(by_kw)
        close = difflib.get_close_matches(name.replace(".", "_"), valid, n=3)
        hint = " (did you mean %s?)" % ", ".join(close) if close else ""
        raise ElmError(
            Status.E_INVALID,
            "unknown configuration keyword %r%s; valid keywords: %s" % (name, hint, ", ".join(valid)),
        )

    def set(self, key, value):
        """Set one key (dotted or keyword form), typed by the schema."""
        info = self._resolve(key)
        k = _lib.enc(info.key)
        with self._lock:
            h = self._ptr()
            if isinstance(value, str) and info.type not in ("string", "choice"):
                st = lib.elm_config_set(h, k, _lib.enc(value))  # parse from text
            elif info.type == "int":
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ElmError(Status.E_INVALID, "%s: expected an integer, got %r" % (info.key, value))
                st = lib.elm_config_set_int(h, k, int(value))
            elif info.type == "double":
                if isinstance(value, bool):
                    raise ElmError(Status.E_INVALID, "%s: expected a number, got %r" % (info.key, value))
                st = lib.elm_config_set_double(h, k, float(value))
            elif info.type == "bool":
                st = lib.elm_config_set_bool(h, k, 1 if value else 0)
            else:
                if isinstance(value, (list, tuple)):
                    value = ",".join(str(v) for v in value)  # "q,k,v", "0,0,1"
                st = lib.elm_config_set_string(h, k, _lib.enc(str(value)))
            _lib.check(st)
        return self

    def update(self, settings=None, **kwargs):
        pairs = []
        if settings:
            for k, v in dict(settings).items():
                _flatten(k, v, pairs)
        for k, v in kwargs.items():
            if isinstance(v, dict):
                _flatten(k, v, pairs)
            else:
                pairs.append((k, v))
        for k, v in pairs:
            self.set(k, v)
        return self

    __setitem__ = set

    # -- reading ----------------------------------------------------------------

    def get(self, key):
        """The value (set or default) as a Python value of the key's type."""
        info = self._resolve(key)
        k = _lib.enc(info.key)
        with self._lock:
            h = self._ptr()
            if info.type == "int":
                v = ctypes.c_int64()
                _lib.check(lib.elm_config_get_int(h, k, ctypes.byref(v)))
                return v.value
            if info.type == "double":
                v = ctypes.c_double()
                _lib.check(lib.elm_config_get_double(h, k, ctypes.byref(v)))
                return v.value
            if info.type == "bool":
                v = ctypes.c_int()
                _lib.check(lib.elm_config_get_bool(h, k, ctypes.byref(v)))
                return bool(v.value)
            v = ctypes.c_char_p()
            _lib.check(lib.elm_config_get_string(h, k, ctypes.byref(v)))
            return _s(v.value) or ""

    def get_text(self, key):
        info = self._resolve(key)
        p = ctypes.c_void_p()
        with self._lock:
            _lib.check(lib.elm_config_get_text(self._ptr(), _lib.enc(info.key), ctypes.byref(p)))
        return _lib.take_string(p.value) or ""

    __getitem__ = get

    def to_dict(self):
        """Every key with its current value as text."""
        return {k.key: self.get_text(k.key) for k in schema()}

    @staticmethod
    def keys():
        return schema()

    @staticmethod
    def find_key(key):
        """elm_config_find_key: the entry of a dotted key (ElmError lists close keys)."""
        k = _lib.new_struct(_lib.elm_key_info)
        _lib.check(lib.elm_config_find_key(_lib.enc(key), ctypes.byref(k)))
        return _info_from_c(k)


def config_arg(config, kwargs):
    """(config handle or None, keepalive) for a function taking config + **kwargs."""
    c, owned = Config.of(config, **kwargs)
    if c is None:
        return None, None
    return c._ptr(), c
