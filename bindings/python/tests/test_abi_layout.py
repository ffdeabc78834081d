"""The ctypes mirrors (elm/_lib.py) and the constants the package copies
from elm.h, against what the C compiler makes of elm.h
(bindings/abi/elm_abi_dump.c). The dump program itself is checked against the
header as cffi parses it, so a struct, field or enumerator added to elm.h and
missing from the program fails here too."""

import ctypes
import re

import pytest

from elm import _callbacks, _errors, _lib, config, dataset, model, session
from abi_tools import DUMP_SOURCE, header_ffi, abi_dump
from conftest import HEADER


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    return abi_dump(tmp_path_factory.mktemp("abi"))


@pytest.fixture(scope="module")
def ffi(tmp_path_factory):
    return header_ffi(tmp_path_factory.mktemp("cffi"))


def header_structs(ffi):
    """{struct: [fields]} of every non-opaque struct elm.h declares."""
    _typedefs, structs, unions = ffi.list_types()
    assert unions == []
    out = {}
    for name in structs:
        t = ffi.typeof("struct " + name)
        if t.fields is not None:
            out[name] = [f for f, _ in t.fields]
    return out


def header_enumerators(ffi):
    typedefs, _structs, _unions = ffi.list_types()
    out = {}
    for name in typedefs:
        t = ffi.typeof(name)
        if t.kind == "enum":
            out.update(t.relements)
    return out


def header_version_macros():
    with open(HEADER) as f:
        return re.findall(r"^#define (ELM_VERSION_\w+)\b", f.read(), flags=re.M)


# --- the dump program covers elm.h -------------------------------------------------


def test_dump_names_every_struct_and_field(dump, ffi):
    have = {name: [f for f, _, _ in s["fields"]] for name, s in dump["structs"].items()}
    assert have == header_structs(ffi), "update %s to list exactly elm.h's structs and fields" % DUMP_SOURCE
    assert len(have) >= 7


def test_dump_names_every_constant(dump, ffi):
    want = dict(header_enumerators(ffi))
    macros = header_version_macros()
    assert macros == ["ELM_VERSION_MAJOR", "ELM_VERSION_MINOR", "ELM_VERSION_PATCH", "ELM_VERSION_NUMBER"]
    got = dict(dump["consts"])
    got_macros = {k: got.pop(k) for k in macros if k in got}
    assert sorted(got_macros) == sorted(macros), "%s misses version macros" % DUMP_SOURCE
    assert got == want, "update %s to print exactly elm.h's enumerators" % DUMP_SOURCE
    v = got_macros
    assert v["ELM_VERSION_NUMBER"] == v["ELM_VERSION_MAJOR"] * 10000 + v["ELM_VERSION_MINOR"] * 100 + v["ELM_VERSION_PATCH"]


def test_cffi_computes_the_compilers_layout(dump, ffi):
    # cffi lays the cdef'd structs out itself: the same answer as the compiler.
    for name, s in dump["structs"].items():
        assert ffi.sizeof(name) == s["size"], name
        assert ffi.alignof(name) == s["align"], name
        t = dict(ffi.typeof(name).fields)
        for f, off, size in s["fields"]:
            assert t[f].offset == off, (name, f)
            assert ffi.sizeof(t[f].type) == size, (name, f)


# --- the ctypes mirrors ----------------------------------------------------------


def test_every_struct_is_mirrored_in_ctypes(dump):
    missing = [n for n in dump["structs"] if not isinstance(getattr(_lib, n, None), type)
               or not issubclass(getattr(_lib, n), ctypes.Structure)]
    assert missing == [], "public structs with no ctypes mirror in elm/_lib.py"


# Parametrised by name so that each struct reports on its own;
# test_the_struct_list_is_the_headers holds this list to the dump, and
# test_dump_names_every_struct_and_field holds the dump to elm.h.
STRUCTS = ("elm_key_info", "elm_progress", "elm_model_info", "elm_chat_message",
           "elm_step_stats", "elm_mcq_result", "elm_ppl_result")


def test_the_struct_list_is_the_headers(dump):
    assert sorted(STRUCTS) == sorted(dump["structs"])


@pytest.mark.parametrize("name", STRUCTS)
def test_ctypes_layout_matches_c(dump, name):
    c = dump["structs"][name]
    py = getattr(_lib, name)
    assert [f[0] for f in py._fields_] == [f for f, _, _ in c["fields"]], "%s: fields (ctypes vs C)" % name
    for f, off, size in c["fields"]:
        d = getattr(py, f)
        assert (d.offset, d.size) == (off, size), "%s.%s: (offset, size) ctypes vs C" % (name, f)
    assert ctypes.sizeof(py) == c["size"], "%s: sizeof ctypes vs C" % name
    assert ctypes.alignment(py) == c["align"], "%s: alignment ctypes vs C" % name


def test_new_struct_sets_the_c_size(dump):
    for name, s in dump["structs"].items():
        py = getattr(_lib, name)
        if "size" in dict(py._fields_):
            assert _lib.new_struct(py).size == s["size"], name


# --- constants copied by hand ------------------------------------------------------


def python_constant(c_name):
    """The package's copy of an elm.h constant, by the package's naming."""
    short = c_name[len("ELM_"):]
    if c_name == "ELM_OK" or c_name.startswith("ELM_E_"):
        return _errors.Status[short]
    for prefix, module, new_prefix in (
        ("LOG_", _callbacks, "LOG_"),
        ("TYPE_", config, "TYPE_"),
        ("TOKENIZE_", model, "TOKENIZE_"),
        ("DETOKENIZE_", model, "DETOKENIZE_"),
        ("TOKEN_", model, "TOKEN_"),
        ("DATASET_", dataset, "KIND_"),
        ("ROLE_", session, "ROLE_"),
    ):
        if short.startswith(prefix):
            return getattr(module, new_prefix + short[len(prefix):])
    raise KeyError(c_name)


def test_enum_constants_match_c(dump):
    unmapped, wrong = [], {}
    for name, value in dump["consts"].items():
        if name.startswith("ELM_VERSION_"):
            continue
        try:
            have = python_constant(name)
        except (KeyError, AttributeError):
            unmapped.append(name)
            continue
        if int(have) != value:
            wrong[name] = (int(have), value)
    assert unmapped == [], "elm.h constants with no copy in the package"
    assert wrong == {}, "(package, C) values differ"
    # and no extra status in the package
    assert sorted(s.c_name for s in _errors.Status) == sorted(
        n for n in dump["consts"] if n == "ELM_OK" or n.startswith("ELM_E_"))


def test_version_matches_c(dump):
    c = dump["consts"]
    assert _lib.PACKAGE_MAJOR == c["ELM_VERSION_MAJOR"]
    assert _lib.PACKAGE_VERSION == "%d.%d.%d" % (c["ELM_VERSION_MAJOR"], c["ELM_VERSION_MINOR"],
                                                c["ELM_VERSION_PATCH"])
    assert _lib.lib.elm_version() == c["ELM_VERSION_NUMBER"], "the loaded library is another version than elm.h"
