#!/usr/bin/env bash
# Run the 3-step erasure of the tiny fixture from C, Python and Rust and check
# that their loss lines ("step N loss ... erase ... retain ... consistency ...",
# printed with %.9g) are identical, bit for bit (CPU, fp32, one thread).
#
# usage: examples/check-identical.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -f "$build/libelm.so.0" ] || { echo "no $build/libelm.so.0: build libelm first" >&2; exit 1; }
export LD_LIBRARY_PATH="$build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

echo "== C"
${CC:-cc} -std=c11 -O2 -Wall -Wextra -I "$root/include" -o "$tmp/erase_tiny" examples/c/erase_tiny.c \
  -L "$build" -lelm -Wl,-rpath,"$build"
"$tmp/erase_tiny" "$root" "$tmp/adapter-c" | tee "$tmp/c.out"

echo "== Python"
ELM_LIBRARY="$build/libelm.so.0" PYTHONPATH="$root/bindings/python" \
  "$root/scripts/python" examples/python/erase_tiny.py "$root" "$tmp/adapter-py" | tee "$tmp/py.out"

echo "== Rust"
(cd bindings/rust && ELM_LIB_DIR="$build" ELM_INCLUDE_DIR="$root/include" \
   cargo run -q --example erase_tiny -- "$root" "$tmp/adapter-rs") | tee "$tmp/rs.out"

for f in c py rs; do grep '^step ' "$tmp/$f.out" > "$tmp/$f.steps" || true; done
n=$(wc -l < "$tmp/c.steps")
[ "$n" -eq 3 ] || { echo "FAIL: the C example printed $n step lines, not 3" >&2; exit 1; }
ok=1
diff -u "$tmp/c.steps" "$tmp/py.steps" || ok=0
diff -u "$tmp/c.steps" "$tmp/rs.steps" || ok=0
# generation from the same weights is greedy, hence identical too
for f in py rs; do
  diff -u <(grep -E '^(before|after): ' "$tmp/c.out") <(grep -E '^(before|after): ' "$tmp/$f.out") || ok=0
done
if [ $ok = 1 ]; then echo "identical: C, Python and Rust print the same losses"; else echo "FAIL: outputs differ" >&2; exit 1; fi
