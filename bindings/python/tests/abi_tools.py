"""Helpers of the ABI tests: the C compiler, elm.h as cffi's cdef() reads it,
and the layout dump of bindings/abi/elm_abi_dump.c."""

import os
import shutil
import subprocess

import pytest

from conftest import HEADER, REPO

DUMP_SOURCE = os.path.join(REPO, "bindings", "abi", "elm_abi_dump.c")

# The only system headers elm.h includes. cffi knows size_t, int64_t, ...
# itself and cannot read glibc's own headers, so the preprocessor gets empty
# stand-ins for these (and no other system header: -nostdinc).
SYSTEM_HEADERS = ("stddef.h", "stdint.h", "string.h")


def c_compiler():
    """The C compiler: $CC or `cc`; fails the test when there is none."""
    cc = os.environ.get("CC") or "cc"
    path = shutil.which(cc)
    if path is None:
        pytest.fail(
            "C compiler %r not found on PATH (set CC or install cc); the ABI tests "
            "need it to preprocess %s and build %s" % (cc, HEADER, DUMP_SOURCE)
        )
    return path


def _run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        pytest.fail("%s failed (exit %d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    return p.stdout


def header_includes():
    """The <...> headers elm.h includes, in order."""
    out = []
    with open(HEADER) as f:
        for line in f:
            s = line.strip()
            if s.startswith("#include"):
                out.append(s.split(None, 1)[1].split()[0].strip("<>\""))
    return out


def preprocessed_header(tmpdir):
    """elm.h's own declarations, preprocessed for cffi: ELM_API predefined
    empty, the system headers replaced by empty files."""
    if not os.path.exists(HEADER):
        pytest.fail("elm.h not found at %s" % HEADER)
    fake = os.path.join(str(tmpdir), "fake-system-headers")
    os.makedirs(fake, exist_ok=True)
    for name in SYSTEM_HEADERS:
        open(os.path.join(fake, name), "w").close()
    return _run([c_compiler(), "-E", "-P", "-nostdinc", "-I", fake, "-DELM_API=", "-x", "c", HEADER])


def header_ffi(tmpdir):
    """A cffi.FFI that has cdef()'d the preprocessed elm.h."""
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(preprocessed_header(tmpdir))
    return ffi


def abi_dump(tmpdir):
    """Build and run elm_abi_dump.c: {"structs": {name: {"size", "align",
    "fields": [(field, offset, size), ...]}}, "consts": {name: value}}."""
    if not os.path.exists(DUMP_SOURCE):
        pytest.fail("layout program not found at %s" % DUMP_SOURCE)
    exe = os.path.join(str(tmpdir), "elm_abi_dump")
    _run([c_compiler(), "-std=c11", "-I", os.path.dirname(HEADER), DUMP_SOURCE, "-o", exe])
    structs, consts = {}, {}
    for n, line in enumerate(_run([exe]).splitlines(), 1):
        w = line.split()
        if w[0] == "struct" and len(w) == 4:
            structs[w[1]] = {"size": int(w[2]), "align": int(w[3]), "fields": []}
        elif w[0] == "field" and len(w) == 5:
            structs[w[1]]["fields"].append((w[2], int(w[3]), int(w[4])))
        elif w[0] == "const" and len(w) == 3:
            consts[w[1]] = int(w[2])
        else:
            pytest.fail("%s: line %d of its output unreadable: %r" % (DUMP_SOURCE, n, line))
    return {"structs": structs, "consts": consts}
