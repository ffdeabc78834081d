#!/bin/sh
# elm.h's deprecated names warn and say what replaces them; the new names do
# not; with ELM_API predefined (cffi's way of reading the header) there is
# no attribute at all. Usage: check-deprecated.sh INCLUDE_DIR CC [CC args...]
set -u
inc=$1; shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
cat >"$tmp/old.c" <<'C'
#include "elm.h"
int f(const elm_tokenizer *t, int32_t **ids, size_t *n) { return elm_tokenize(t, "x", 1, 0, ids, n); }
C
cat >"$tmp/new.c" <<'C'
#include "elm.h"
int f(const elm_tokenizer *t, int32_t **ids, size_t *n) { return elm_tokenizer_encode(t, "x", 1, 0, ids, n); }
C
if "$@" -std=c11 -Werror=deprecated-declarations -I"$inc" -c "$tmp/old.c" -o "$tmp/o.o" 2>"$tmp/err"; then
  echo "FAIL: calling elm_tokenize compiled without a deprecation warning"; fail=1
elif ! grep -q "use elm_tokenizer_encode" "$tmp/err"; then
  echo "FAIL: the warning does not name the new function:"; cat "$tmp/err"; fail=1
else
  echo "ok: elm_tokenize warns: $(grep -o 'is deprecated.*' "$tmp/err" | head -1)"
fi
"$@" -std=c11 -Werror -Wall -I"$inc" -c "$tmp/new.c" -o "$tmp/n.o" || { echo "FAIL: the new name warns"; fail=1; }
"$@" -std=c11 -Werror=deprecated-declarations -DELM_API= -I"$inc" -c "$tmp/old.c" -o "$tmp/p.o" ||
  { echo "FAIL: with ELM_API predefined the attribute is still there"; fail=1; }
[ $fail = 0 ] && echo "deprecated names: ok"
exit $fail
