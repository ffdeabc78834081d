"""Loading, version check, and the prototype table against include/elm.h."""

import os
import re
import subprocess
import sys

import pytest

import elm
from elm import _lib
from conftest import HEADER, REPO


def header_prototypes():
    """{name: number of parameters} of every ELM_API function in elm.h."""
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out = {}
    for m in re.finditer(r"ELM_API\s+([^;]*?)\b(elm_\w+)\s*\(([^;]*?)\)\s*;", text, flags=re.S):
        params = m.group(3).strip()
        out[m.group(2)] = 0 if params in ("", "void") else params.count(",") + 1
    return out


def test_every_header_function_is_mirrored():
    if not os.path.exists(HEADER):
        pytest.skip("elm.h not found at %s" % HEADER)
    want = header_prototypes()
    assert len(want) > 50
    have = {name: len(argtypes) for name, (restype, argtypes) in _lib.PROTOTYPES.items()}
    assert sorted(set(want) - set(have)) == [], "in elm.h, not in the binding"
    assert sorted(set(have) - set(want)) == [], "in the binding, not in elm.h"
    diff = {n: (want[n], have[n]) for n in want if want[n] != have[n]}
    assert diff == {}, "parameter counts differ (header, binding)"


def test_prototype_comments_quote_the_header():
    src = open(_lib.__file__).read()
    for name in _lib.PROTOTYPES:
        assert re.search(r"#\s.*\b%s\(" % name, src), "no C prototype quoted for " + name


def test_version():
    assert elm.__version__ == "0.1.0"
    major, minor, patch = elm.version()
    assert major == int(elm.__version__.split(".")[0])
    assert elm.version_string() == "%d.%d.%d" % (major, minor, patch)
    assert elm.backend_version()


def test_status_names():
    assert elm.status_name(0) == "ELM_OK"
    for s in elm.Status:
        assert elm.status_name(s) == s.c_name


def test_runtime():
    assert elm.cuda_device_count() >= 0
    assert isinstance(elm.cuda_available(), bool)
    n = elm.get_num_threads()
    assert n >= 1
    elm.set_num_threads(n)


def _run_import(env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = os.path.join(REPO, "bindings", "python")
    return subprocess.run(
        [sys.executable, "-c", "import elm; print(elm.library_path)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_elm_library_env_is_final():
    r = _run_import({"ELM_LIBRARY": "/nonexistent/libelm.so.0"})
    assert r.returncode != 0
    assert "ELM_LIBRARY" in r.stderr and "/nonexistent/libelm.so.0" in r.stderr


def test_development_build_found_without_env():
    env = {k: v for k, v in os.environ.items()}
    env.pop("ELM_LIBRARY", None)
    env["PYTHONPATH"] = os.path.join(REPO, "bindings", "python")
    r = subprocess.run(
        [sys.executable, "-c", "import elm; print(elm.library_path)"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    if not os.path.exists(os.path.join(REPO, "build", "libelm.so.0")):
        pytest.skip("no development build at build/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_missing_symbol_is_a_clear_error(monkeypatch):
    # A prototype whose symbol the library lacks fails only when used.
    monkeypatch.setitem(_lib.PROTOTYPES, "elm_no_such_function", (None, []))
    with pytest.raises(elm.ElmError) as e:
        _lib.lib.elm_no_such_function()
    assert e.value.status == elm.Status.E_UNSUPPORTED
    assert "elm_no_such_function" in e.value.message
    assert not _lib.lib.has("elm_no_such_function")
