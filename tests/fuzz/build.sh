#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with clang:
#   1. an instrumented libelm (ASan + UBSan + -fsanitize=fuzzer-no-link on the
#      C code) in $ELM_FUZZ_BUILD (default build-fuzz/), configured once;
#   2. each tests/fuzz/fuzz_<name>.c linked with -fsanitize=fuzzer against
#      its libelm_internal.a into $ELM_FUZZ_BUILD/fuzz/fuzz_<name>.
# Usage: tests/fuzz/build.sh [TARGET...]   (names with or without "fuzz_")
# Needs clang, the libFuzzer runtime (libclang-rt-*-dev) and the normal build
# dependencies (scripts/setup-deps); scripts/fuzz installs what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bd=${ELM_FUZZ_BUILD:-$root/build-fuzz}
cd "$root"

if [ ! -f "$bd/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$bd" \
    -Db_sanitize=address,undefined -Db_lundef=false -Dtests=false -Dbuildtype=debugoptimized \
    "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined -gline-tables-only" >/dev/null
fi
ninja -C "$bd" libelm_internal.a >"$bd/fuzz-lib.log" 2>&1 || { tail -40 "$bd/fuzz-lib.log"; exit 1; }

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

mkdir -p "$bd/fuzz"
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -gline-tables-only
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -Wall -Wextra -Werror
        -Iinclude -Ilibelm -Itests/fuzz "-DELM_SOURCE_ROOT=\"$root\""
        $(pkg-config --cflags json-c))
libs=("$bd/libelm_internal.a" $(pkg-config --libs json-c libpcre2-8) -ltorch -ltorch_cpu -lc10 -lpthread -lm)
for t in "${targets[@]}"; do
  t=fuzz_${t#fuzz_}
  src=tests/fuzz/$t.c
  [ -f "$src" ] || { echo "build.sh: no target $src" >&2; exit 2; }
  clang "${cflags[@]}" -c "$src" -o "$bd/fuzz/$t.o"
  clang++ -fsanitize=fuzzer,address,undefined -o "$bd/fuzz/$t" "$bd/fuzz/$t.o" "${libs[@]}"
  echo "built $bd/fuzz/$t"
done
