"""Layering check of libelm/ (issue #19): arrows point down only.

    scripts/python tests/layers/check_layers.py --src libelm --archive build/libelm_internal.a
    scripts/python tests/layers/check_layers.py --self-test

(a) includes: every `#include "..."` of libelm/**/*.{c,h,cpp,hpp} names a
    header of its own layer or of a layer below ("elm.h", the public header,
    is allowed everywhere);
(b) symbols: every symbol an object of the static internal archive uses
    (`nm -u`) and that the archive defines is defined in the user's own layer
    or below, so no lower layer calls into api/ or any layer above it;
(c) configuration reads: only api/, config/ and each layer's one reader
    file (`*_opts.c`, filling that layer's typed options) use the functions
    that read values out of an elm_config; every other file takes typed
    options (CONFIG_AS_DATA lists the files that keep a config as a value).

A failure names the file, the include line or symbol, and both layers.
Exit status 0 only when nothing but the allow-listed violations were found.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The layer order, lowest first. Layers in one tuple are siblings: each may use
# everything below the tuple, neither may use the other. libelm/meson.build
# must list the folders in an order that agrees with this (checked).
ORDER = [
    ("core",),               # error, log
    ("config",),             # the config store (elm_config_*) and its schema
    ("tensor",),             # the libtorch shim
    ("io",),                 # files, JSON, safetensors, GGUF, datasets
    ("tokenizer",),
    ("model",),
    ("erase", "generate"),  # siblings: neither calls the other
    ("eval",),               # eval/ppl.c scores generated text: uses generate
    ("api",),                # the public C ABI of include/elm.h
]
RANK = {layer: i for i, group in enumerate(ORDER) for layer in group}
PUBLIC_HEADERS = {"elm.h"}
SOURCE_EXT = (".c", ".h", ".cpp", ".hpp")

# TEMPORARY allow-list: violations known and owned elsewhere. Each entry is
# (file, kind, what) -> why. Remove an entry as soon as its file is fixed;
# a stale entry (nothing matched it) is reported but does not fail.
ALLOWED = {}

# (c): the functions that read a value out of an elm_config, and who may.
CONFIG_READERS = {"elm_config_int", "elm_config_double", "elm_config_bool", "elm_config_string",
                  "elm_config_id_is_set", "elm_config_is_set", "elm_config_get_int", "elm_config_get_double",
                  "elm_config_get_bool", "elm_config_get_string", "elm_config_get_text"}
CONFIG_LAYERS = {"api", "config"}
CONFIG_AS_DATA = {
    "libelm/erase/checkpoint.c": "stores the session's whole config as text and compares it on resume",
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def allowed_below(layer):
    r = RANK[layer]
    below = [l for g in ORDER[:r] for l in g]
    return ", ".join(below) if below else "nothing"


def may_use(user, target):
    return user == target or RANK[target] < RANK[user]


def source_files(src):
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(SOURCE_EXT):
                yield os.path.join(dirpath, name)


def layer_of(src, path):
    """Layer of a file under src, or None for a file at src's top level."""
    rel = os.path.relpath(path, src)
    parts = rel.split(os.sep)
    return parts[0] if len(parts) > 1 else None


def display(src, path):
    return os.path.join(os.path.basename(os.path.normpath(src)), os.path.relpath(path, src))


class Report:
    def __init__(self):
        self.errors = []
        self.allowed = []
        self.used_allow = set()

    def violation(self, file, kind, what, message):
        key = (file, kind, what)
        if key in ALLOWED:
            self.used_allow.add(key)
            self.allowed.append("%s  [temporary allow-list: %s]" % (message, ALLOWED[key]))
        else:
            self.errors.append(message)


def check_meson_order(src, rep):
    path = os.path.join(os.path.dirname(os.path.normpath(src)), "meson.build")
    if not os.path.exists(path):
        return
    text = open(path, encoding="utf-8").read()
    m = re.search(r"foreach\s+layer\s*:\s*\[([^\]]*)\]", text)
    if not m:
        rep.errors.append("%s: no `foreach layer : [...]` list of the layers" % path)
        return
    listed = re.findall(r"'([^']+)'", m.group(1))
    for layer in listed:
        if layer not in RANK:
            rep.errors.append("%s: layer '%s' is not in check_layers.py's ORDER" % (path, layer))
    for layer in RANK:
        if layer not in listed:
            rep.errors.append("%s: layer '%s' of ORDER is not built" % (path, layer))
    ranks = [RANK[l] for l in listed if l in RANK]
    if ranks != sorted(ranks):
        rep.errors.append("%s: the layers are built in the order %s, which disagrees with %s"
                          % (path, listed, [list(g) for g in ORDER]))


def check_includes(src, rep):
    n_files = n_includes = 0
    for path in source_files(src):
        layer = layer_of(src, path)
        shown = display(src, path)
        if layer is None:
            continue
        if layer not in RANK:
            rep.errors.append("%s: folder '%s' is no layer of ORDER (add it to check_layers.py)" % (shown, layer))
            continue
        n_files += 1
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                n_includes += 1
                inc = m.group(1)
                if inc in PUBLIC_HEADERS:
                    continue
                if "/" not in inc:
                    # relative to the including file: its own layer
                    if not os.path.exists(os.path.join(os.path.dirname(path), inc)):
                        rep.errors.append("%s:%d: %s names no header of layer %s (internal headers are "
                                          "included as \"layer/name.h\")" % (shown, lineno, line.strip(), layer))
                    continue
                target = inc.split("/")[0]
                if target not in RANK:
                    rep.errors.append("%s:%d: %s names folder '%s', which is no layer"
                                      % (shown, lineno, line.strip(), target))
                    continue
                if not may_use(layer, target):
                    rep.violation(shown, "include", inc,
                                  "%s:%d: %s: layer %s includes a header of layer %s (%s may use: %s)"
                                  % (shown, lineno, line.strip(), layer, target, layer, allowed_below(layer)))
    return n_files, n_includes


NM_RE = re.compile(r"^(.*\.o):\s*(?:[0-9a-fA-F]+\s+)?(\S)\s+(\S+)$")


def nm(archive, *flags):
    """(member basename, type, symbol) of every symbol nm lists; works for thin
    archives too (meson's, whose members are paths)."""
    out = subprocess.run(["nm", "-A", *flags, archive], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = NM_RE.match(line)
        if m:  # "archive:member:ADDRESS TYPE symbol" or "archive:member:   U symbol"
            rows.append((os.path.basename(m.group(1).rsplit(":", 1)[-1]), m.group(2), m.group(3)))
    return rows


def object_sources(src):
    """Meson's object name of each source file -> (display path, layer)."""
    top = os.path.dirname(os.path.normpath(src))
    names = {}
    for path in source_files(src):
        if not path.endswith((".c", ".cpp")):
            continue
        rel = os.path.relpath(path, top)
        names[rel.replace(os.sep, "_") + ".o"] = (display(src, path), layer_of(src, path))
    return names


def check_symbols(src, archive, rep):
    objs = object_sources(src)
    defined = {}  # symbol -> [(file, layer)]
    members = set()
    for member, typ, sym in nm(archive, "--defined-only"):
        members.add(member)
        if typ.isupper():  # global (T, D, B, R, W, V, ...)
            if member not in objs:
                continue
            defined.setdefault(sym, []).append(objs[member])
    for member in sorted(members):
        if member not in objs:
            rep.errors.append("%s: object %s matches no source file under %s" % (archive, member, src))
    n_uses = 0
    for member, typ, sym in nm(archive, "-u"):
        if member not in objs or sym not in defined:
            continue  # libc, libtorch, json-c, ...
        n_uses += 1
        file, layer = objs[member]
        if (sym in CONFIG_READERS and layer not in CONFIG_LAYERS and not file.endswith("_opts.c")
                and file not in CONFIG_AS_DATA):
            rep.violation(file, "config", sym,
                          "%s: reads the configuration (%s): only api/, config/ and the layer's *_opts.c "
                          "read an elm_config; take the layer's typed options instead" % (file, sym))
        homes = defined[sym]
        if layer not in RANK or any(l in RANK and may_use(layer, l) for _, l in homes):
            continue
        where = ", ".join("%s (layer %s)" % h for h in homes)
        rep.violation(file, "symbol", sym,
                      "%s: uses symbol %s defined in %s: layer %s calls up into layer %s (%s may use: %s)"
                      % (file, sym, where, layer, homes[0][1], layer, allowed_below(layer)))
    return len(objs), n_uses


def run(src, archive):
    rep = Report()
    check_meson_order(src, rep)
    n_files, n_inc = check_includes(src, rep)
    line = "layers: %s" % " < ".join("{%s}" % ", ".join(g) if len(g) > 1 else g[0] for g in ORDER)
    print(line)
    print("includes: %d files, %d quoted includes checked" % (n_files, n_inc))
    if archive:
        n_obj, n_uses = check_symbols(src, archive, rep)
        print("symbols: %d objects of %s, %d uses of the archive's own symbols checked"
              % (n_obj, os.path.basename(archive), n_uses))
    for a in rep.allowed:
        print("ALLOWED " + a)
    for key in sorted(set(ALLOWED) - rep.used_allow):
        print("note: allow-list entry %s no longer matches anything: remove it from %s" % (key, __file__))
    for e in rep.errors:
        print("FAIL " + e)
    if rep.errors:
        print("%d layering violation(s)" % len(rep.errors))
        return 1
    print("layering OK (%d temporarily allowed)" % len(rep.allowed))
    return 0


def self_test():
    """The checker on a small tree with one violation of each kind: it must fail
    and name them; with the violations removed it must pass."""
    cc = os.environ.get("CC", "cc").split()
    tmp = tempfile.mkdtemp(prefix="elm-layers-")
    try:
        src = os.path.join(tmp, "libelm")
        os.makedirs(os.path.join(tmp, "include"))
        open(os.path.join(tmp, "include", "elm.h"), "w").close()
        inc = ["-I", src, "-I", os.path.join(tmp, "include")]
        files = {
            "core/error.h": "int core_fn(void);\n",
            "core/error.c": '#include "core/error.h"\nint core_fn(void) { return 1; }\n',
            "api/api.h": "int api_fn(void);\n",
            "api/api.c": '#include "core/error.h"\n#include "api/api.h"\nint api_fn(void) { return core_fn(); }\n',
            "io/io.c": '#include "elm.h"\n#include "core/error.h"\n#include "api/api.h"\n'
                       'int io_fn(void) { return api_fn() + core_fn(); }\n',
            "config/config.c": "int elm_config_int(void) { return 4; }\n",
            "io/io_opts.c": "int elm_config_int(void);\nint io_opts(void) { return elm_config_int(); }\n",
            "io/reader.c": "int elm_config_int(void);\nint io_reader(void) { return elm_config_int(); }\n",
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        objs = []
        for rel in files:
            if rel.endswith(".c"):
                obj = os.path.join(tmp, ("libelm/" + rel).replace("/", "_") + ".o")
                subprocess.run(cc + ["-c"] + inc + ["-o", obj, os.path.join(src, rel)], check=True)
                objs.append(obj)
        archive = os.path.join(tmp, "libelm_internal.a")
        subprocess.run(["ar", "rcs", archive] + objs, check=True)
        out = subprocess.run([sys.executable, __file__, "--src", src, "--archive", archive],
                             capture_output=True, text=True)
        print(out.stdout, end="")
        want = ['libelm/io/io.c:3: #include "api/api.h": layer io includes a header of layer api',
                "libelm/io/io.c: uses symbol api_fn defined in libelm/api/api.c (layer api): layer io calls up into layer api",
                "libelm/io/reader.c: reads the configuration (elm_config_int)"]
        ok = out.returncode == 1
        for w in want:
            if w not in out.stdout:
                print("self-test: expected a failure line containing: " + w)
                ok = False
        # the allowed direction passes
        with open(os.path.join(src, "io/io.c"), "w") as f:
            f.write('#include "core/error.h"\nint io_fn(void) { return core_fn(); }\n')
        obj = os.path.join(tmp, "libelm_io_io.c.o")
        subprocess.run(cc + ["-c"] + inc + ["-o", obj, os.path.join(src, "io/io.c")], check=True)
        if "io_opts.c" in out.stdout:
            print("self-test: the layer's *_opts.c was reported for reading the config")
            ok = False
        os.remove(os.path.join(src, "io/reader.c"))
        objs = [o for o in objs if not o.endswith("_reader.c.o")]
        os.remove(archive)
        subprocess.run(["ar", "rcs", archive] + objs, check=True)
        out2 = subprocess.run([sys.executable, __file__, "--src", src, "--archive", archive],
                              capture_output=True, text=True)
        if out2.returncode != 0:
            print(out2.stdout, end="")
            print("self-test: a tree without violations failed")
            ok = False
        print("self-test %s" % ("passed" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="the libelm/ source folder")
    ap.add_argument("--archive", help="the static internal archive (libelm_internal.a)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.src:
        ap.error("--src is required")
    return run(a.src, a.archive)


if __name__ == "__main__":
    sys.exit(main())
