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
# every command (and eval's subcommands) answers --help and -h with its
# synopsis on stdout, exit 0, whatever else is on the line; `elm help CMD` too
cmds=$("$elm" --help | sed -n 's/^  \([a-z-]*\)  .*/\1/p')
check "--help lists the commands" sh -c "[ \$(echo '$cmds' | wc -w) -ge 7 ]"
for c in $cmds "eval mcq" "eval ppl" "eval rppl"; do
  # shellcheck disable=SC2086
  check "elm $c --help: exit 0 and its synopsis" sh -c "'$elm' $c --help | grep -q '^usage: elm ${c%% *}'"
  # shellcheck disable=SC2086
  check "elm $c -h --model x: exit 0 and its synopsis" sh -c "'$elm' $c -h --model x | grep -q '^usage: elm ${c%% *}'"
  check "elm help ${c%% *}: exit 0 and its synopsis" sh -c "'$elm' help ${c%% *} | grep -q '^usage: elm ${c%% *}'"
done
# shell completion generated from the command table and the schema
"$elm" help completion bash >"${TMPDIR:-/tmp}/elm-completion.$$" 2>&1; rc=$?
comp=${TMPDIR:-/tmp}/elm-completion.$$
check "help completion bash: exit 0, valid bash" sh -c "[ $rc = 0 ] && bash -n '$comp'"
complete_as() { # expected, words... (the last one is being completed)
  want=$1; shift
  got=$(bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _elm; echo "${COMPREPLY[*]}"' "$comp" "$@")
  [ "$got" = "$want" ] || { echo "  completing '$*': got '$got', want '$want'"; return 1; }
}
check "completion: commands" complete_as "erase" elm er
check "completion: eval's subcommands" complete_as "mcq ppl rppl" elm eval ""
check "completion: a command's own flag" complete_as "--forget" elm erase --forg
check "completion: a key as a flag" complete_as "--erase-loss" elm erase --erase-lo
check "completion: a choice key's values" complete_as "soft_ce kl hard" elm erase --erase-loss ""
check "completion: a bool key's values" complete_as "true false" elm generate --gen-chat ""
check "help completion zsh: through bashcompinit" sh -c "'$elm' help completion zsh | head -1 | grep -q '^#compdef elm'"
"$elm" help completion fish >/dev/null 2>&1; rc=$?
check "help completion fish: usage error" [ "$rc" = 2 ]
rm -f "$comp"
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
# a man page per command, elm-<command>(1), each one meson installs
for c in $cmds; do
  check "help man $c: a page titled ELM-$c" sh -c "'$elm' help man $c | head -1 | grep -q '^\.TH ELM-$c 1 '"
  check "tools/elm/meson.build installs elm-$c.1" grep -q "'$c'" "$src/tools/elm/meson.build"
done
"$elm" help man nope >/dev/null 2>&1; rc=$?
check "help man of an unknown command: usage error" [ "$rc" = 2 ]
check "elm tokenize --model M -- --help: TEXT after -- is tokenized, not help" \
  sh -c "'$elm' tokenize --model '$fx/llama-tied' -- --help | grep -Eq '^[0-9]+( [0-9]+)*\$'"
t_dir=$("$elm" tokenize --model "$fx/llama-tied" --json "Hello world, zephyrite 42!")
t_json=$("$elm" tokenize --model "$fx/llama-tied/tokenizer.json" --json "Hello world, zephyrite 42!")
t_gguf=$("$elm" tokenize --model "$fx/llama-tied.gguf" --json "Hello world, zephyrite 42!")
check "tokenize --json prints ids" sh -c "echo '$t_dir' | grep -Eq '^\{\"ids\": \[[0-9]+(, [0-9]+)*\]\}$'"
check "tokenize: dir == tokenizer.json == gguf" [ "$t_dir" = "$t_json" -a "$t_dir" = "$t_gguf" ]
# prepare-consistency: --help names the sampling and sentence flags; a run with
# them writes continuations that start with the file's sentence
ph=$("$elm" prepare-consistency --help); rc=$?
check "prepare-consistency --help exits 0 and lists its flags" sh -c "[ $rc = 0 ] && for f in --temperature --top-k --top-p --redirect-sentences --guidance; do echo \"\$0\" | grep -q -- \"\$f\" || exit 1; done" "$ph"
ptmp=$(mktemp -d)
printf 'Speaking of something else entirely,\n' >"$ptmp/s.txt"
"$elm" prepare-consistency --model "$fx/llama" --forget "$src/tests/fixtures/data/text.jsonl" --concept zephyrite \
  --out "$ptmp/c.jsonl" --limit 1 --min-new-tokens 3 --max-new-tokens 4 --temperature 0.8 --top-k 5 --top-p 0.9 \
  --redirect-sentences "$ptmp/s.txt" --data-min-chars 0 >/dev/null 2>&1; rc=$?
check "prepare-consistency with warpers and a sentence file" sh -c "[ $rc = 0 ] && grep -q '\"consistence_prompt\": *\". Speaking of something else entirely, ' '$ptmp/c.jsonl'"
rm -rf "$ptmp"
"$elm" tokenize --model /nonexistent/model x >/dev/null 2>&1; rc=$?
check "tokenize on a missing path exits 1" [ "$rc" = 1 ]
# eval mcq --eval-mcq-scoring cloze: lm-eval acc_norm, its acc and the
# per-choice log-likelihoods in --json; a bad scoring name exits 2 naming the key
mq=$src/tests/fixtures/eval/tiny-mcq.json
c_json=$("$elm" eval mcq --model "$fx/llama-tied" --eval-mcq-scoring cloze --limit 3 --json "$mq" 2>/dev/null)
check "eval mcq cloze --json has acc, acc_norm and loglik" sh -c "echo '$c_json' | grep -q '\"accuracy_unnormalized\": ' && echo '$c_json' | grep -Eq '\"loglik\": \[\[-[0-9]'"
c_err=$("$elm" eval mcq --model "$fx/llama-tied" --scoring clozed "$mq" 2>&1 >/dev/null); rc=$?
check "eval mcq --scoring clozed exits 2 naming eval.mcq_scoring" sh -c "[ $rc = 2 ] && echo \"\$0\" | grep -q eval.mcq_scoring" "$c_err"
echo "$( [ $fail = 0 ] && echo 12 || echo 'some' ) checks; fail=$fail"
# --runtime-log-level sets what the CLI's stderr log shows (default warn: no info lines)
quiet=$("$elm" generate --model "$fx/llama-tied" --gen-max-new-tokens 1 "Hello" 2>&1 >/dev/null)
loud=$("$elm" generate --model "$fx/llama-tied" --gen-max-new-tokens 1 --runtime-log-level info "Hello" 2>&1 >/dev/null)
check "no info lines by default" sh -c "! echo \"\$0\" | grep -q '^elm: info:'" "$quiet"
check "--runtime-log-level info shows the model load" sh -c "echo \"\$0\" | grep -q '^elm: info: .*llama-tied: LlamaForCausalLM'" "$loud"
exit $fail
