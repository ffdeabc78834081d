#!/usr/bin/env bash
# Run every fuzz target once over its committed corpus (no fuzzing).
#   tests/fuzz/replay.sh BUILD_DIR     the gcc replay executables of a meson
#                                      build that includes tests/fuzz
#                                      (e.g. build-asan: ASan + UBSan)
#   tests/fuzz/replay.sh --libfuzzer   the clang libFuzzer binaries
#                                      (same as scripts/fuzz --replay)
# Exit status 0 only if every input of every target ran clean.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" = "--libfuzzer" ]; then
  exec "$root/scripts/fuzz" --replay
fi
bd=${1:?usage: tests/fuzz/replay.sh BUILD_DIR | --libfuzzer}
[ -d "$bd/tests/fuzz" ] || { echo "replay.sh: $bd/tests/fuzz missing (is subdir('fuzz') in tests/meson.build?)" >&2; exit 2; }
export ELM_SOURCE_ROOT=$root
: "${LSAN_OPTIONS:=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0}"
: "${UBSAN_OPTIONS:=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitizers/ubsan.supp}"
export LSAN_OPTIONS UBSAN_OPTIONS
fail=0
for exe in "$bd"/tests/fuzz/replay_fuzz_*; do
  [ -x "$exe" ] || continue
  t=${exe##*/replay_fuzz_}
  if out=$("$exe" "$root/tests/fuzz/corpus/$t" 2>&1); then
    printf '%-18s %s\n' "$t" "$(tail -1 <<<"$out")"
  else
    printf '%-18s FAILED\n' "$t"; tail -30 <<<"$out" | sed 's/^/    /'; fail=1
  fi
done
exit $fail
