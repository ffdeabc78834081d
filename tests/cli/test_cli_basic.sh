#!/bin/sh
# The CLI's foundation behaviour: version, help, keys, man page, usage errors.
elm=$1
fail=0
check() { # description, command...
  d=$1; shift
  if "$@"; then echo "ok - $d"; else echo "not ok - $d"; fail=1; fi
}
v=$("$elm" --version) ; check "--version prints the version" sh -c "echo '$v' | grep -Eq '^elm [0-9]+\.[0-9]+\.[0-9]+ '"
check "--help exits 0" sh -c "'$elm' --help >/dev/null"
keys=$("$elm" help keys)
check "help keys lists lora.rank" sh -c "echo \"\$0\" | grep -q '^lora.rank '" "$keys"
check "help keys lists every schema section" sh -c "for s in runtime data lora erase optim gen prepare eval chat; do echo \"\$0\" | grep -q \"^\$s\\.\" || exit 1; done" "$keys"
"$elm" no-such-command >/dev/null 2>&1; rc=$?
check "unknown command exits 2" [ "$rc" = 2 ]
"$elm" >/dev/null 2>&1; rc=$?
check "no command exits 2" [ "$rc" = 2 ]
man=$("$elm" help man)
check "man page has NAME and keys" sh -c "echo \"\$0\" | grep -q '^.SH NAME' && echo \"\$0\" | grep -q 'lora\\\\-rank'" "$man"
# tokenize: a model directory, its bare tokenizer.json and the same model as
# GGUF give the same ids; --json prints {"ids": [...]}
src=${ELM_SOURCE_ROOT:-$(dirname "$0")/../..}
fx=$src/tests/fixtures/models
t_dir=$("$elm" tokenize --model "$fx/llama-tied" --json "Hello world, zephyrite 42!")
t_json=$("$elm" tokenize --model "$fx/llama-tied/tokenizer.json" --json "Hello world, zephyrite 42!")
t_gguf=$("$elm" tokenize --model "$fx/llama-tied.gguf" --json "Hello world, zephyrite 42!")
check "tokenize --json prints ids" sh -c "echo '$t_dir' | grep -Eq '^\{\"ids\": \[[0-9]+(, [0-9]+)*\]\}$'"
check "tokenize: dir == tokenizer.json == gguf" [ "$t_dir" = "$t_json" -a "$t_dir" = "$t_gguf" ]
"$elm" tokenize --model /nonexistent/model x >/dev/null 2>&1; rc=$?
check "tokenize on a missing path exits 1" [ "$rc" = 1 ]
echo "$( [ $fail = 0 ] && echo 10 || echo 'some' ) checks; fail=$fail"
exit $fail
