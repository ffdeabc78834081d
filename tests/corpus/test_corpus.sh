#!/bin/sh
# Cross-reader malformed-input corpus: `elm inspect` on every file of every
# MANIFEST.tsv under tests/fixtures/{io,data,model}/malformed.
#
# For each entry whose expected status is not ELM_OK, inspect must
#   - exit 1,
#   - write exactly one line on stderr, naming the file (its base name),
#     and containing the manifest's message substring,
#   - finish within 1 s: the whole process's CPU time (user + sys, start-up
#     and libtorch's loading included) must stay under 1 s, and its wall
#     time under 10 s (a hang). CPU time, not wall time, so a machine loaded
#     by other jobs does not turn waiting into failures. Without
#     /usr/bin/time: wall time minus the start-up floor (fastest of three
#     `elm --version`) under 1 s.
# The data manifest's data.format column becomes --data-format.
# Valid fixtures of every kind must be recognised as that kind (--json).
# Entries expected to be ELM_OK must exit 0 (gg_valid.gguf excepted: a valid
# GGUF without general.architecture is not a model, and inspect says so).
#
# usage: test_corpus.sh ELM SOURCE_ROOT
elm=$1
root=${2:-$ELM_SOURCE_ROOT}
[ -x "$elm" ] || { echo "Bail out! elm not found at '$elm'"; exit 1; }
[ -d "$root/tests/fixtures" ] || { echo "Bail out! no tests/fixtures under '$root'"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

now_ms() { date +%s%N | cut -c1-13; }

floor=999999
for i in 1 2 3; do
  t0=$(now_ms); "$elm" --version >/dev/null 2>&1; t1=$(now_ms)
  d=$((t1 - t0)); [ $d -lt $floor ] && floor=$d
done
timer=; timekind="wall beyond start-up"
if [ -x /usr/bin/time ] && /usr/bin/time -o /dev/null -f '%U' true 2>/dev/null; then
  timer=/usr/bin/time; timekind="CPU time"
fi
# 1 s per file; a sanitizer build runs everything several times slower, so
# there the bound only catches hangs and runaway work (ELM_SANITIZED=1).
limit_ms=1000
[ "${ELM_SANITIZED:-0}" = 1 ] && limit_ms=8000
echo "# start-up floor ${floor} ms wall; timing by $timekind; limit ${limit_ms} ms"

n=0; fail=0; checked=0
# manifest, column of the message substring
for spec in io/malformed:3 data/malformed:4 model/malformed:3; do
  dir=$root/tests/fixtures/${spec%%:*}
  col=${spec##*:}
  man=$dir/MANIFEST.tsv
  [ -f "$man" ] || { echo "not ok - missing $man"; fail=1; continue; }
  # read file, status and substring (tab-separated; the substring may hold spaces)
  while IFS='	' read -r f2 f3 f4 f5; do
    case $f2 in ''|'#'*) continue ;; esac
    file=$f2; status=$f3; opts=
    if [ "$col" = 4 ]; then
      sub=$f5
      [ "$f4" = auto ] || opts="--data-format $f4"
    else sub=$f4; fi
    path=$dir/$file
    n=$((n + 1))
    if [ ! -e "$path" ]; then echo "not ok $n - $file: listed in $man but missing"; fail=1; continue; fi
    t0=$(now_ms)
    if [ -n "$timer" ]; then
      $timer -o "$tmp/time" -f '%e %U %S' "$elm" inspect $opts "$path" >"$tmp/out" 2>"$tmp/err"; rc=$?
    else
      "$elm" inspect $opts "$path" >"$tmp/out" 2>"$tmp/err"; rc=$?
    fi
    t1=$(now_ms)
    wall=$((t1 - t0))
    if [ -n "$timer" ]; then
      # CPU milliseconds of the process; over-long wall time is a hang
      work=$(tail -n 1 "$tmp/time" | awk '{ printf "%d", ($2 + $3) * 1000 }')
      [ $wall -lt 10000 ] || work=$wall
    else
      work=$((wall - floor))
    fi
    if [ "$status" = ELM_OK ]; then
      if [ "$file" = gg_valid.gguf ]; then echo "ok $n - $file # SKIP valid GGUF, not a model"; continue; fi
      if [ $rc = 0 ]; then echo "ok $n - $file: exit 0"; else
        echo "not ok $n - $file: expected exit 0, got $rc: $(head -c 300 "$tmp/err")"; fail=1; fi
      continue
    fi
    checked=$((checked + 1))
    lines=$(wc -l <"$tmp/err")
    base=$(basename "$file")
    why=
    [ $rc = 1 ] || why="$why exit $rc (want 1);"
    [ "$lines" = 1 ] || why="$why $lines stderr lines (want 1);"
    grep -qF -- "$base" "$tmp/err" || why="$why message does not name $base;"
    [ -z "$sub" ] || grep -qF -- "$sub" "$tmp/err" || why="$why message lacks '$sub';"
    [ $work -lt $limit_ms ] || why="$why took ${work} ms ($timekind, limit $limit_ms);"
    if [ -z "$why" ]; then
      echo "ok $n - $file ($status, ${work} ms $timekind): $(head -c 200 "$tmp/err")"
    else
      echo "not ok $n - $file ($status):$why stderr: $(head -c 300 "$tmp/err")"
      fail=1
    fi
  done <"$man"
done
# Every kind is recognised in valid inputs: --json gives {"kind": K, ...}.
fx=$root/tests/fixtures
for spec in "models/llama:model" "models/qwen2:model" "models/llama-tied.gguf:model" \
            "model/malformed/ok_llama/model.safetensors:model" "io/malformed/st_valid.safetensors:safetensors" \
            "models/llama/tokenizer.json:tokenizer" "data/text.jsonl:dataset" "data/lines.txt:dataset" \
            "data/questions.json:mcq" "data/questions.jsonl:mcq" "data/consistency.json:consistency" \
            "data/pairs.jsonl:consistency" "erase/golden_concat/final_adapter:adapter"; do
  rel=${spec%%:*}; kind=${spec##*:}
  n=$((n + 1))
  if "$elm" inspect --json "$fx/$rel" >"$tmp/out" 2>"$tmp/err" && grep -q "^{\"kind\":\"$kind\"" "$tmp/out" &&
     "$elm" inspect "$fx/$rel" >/dev/null 2>&1; then
    echo "ok $n - $rel is a $kind"
  else
    echo "not ok $n - $rel: want kind $kind: $(head -c 300 "$tmp/out") $(head -c 300 "$tmp/err")"; fail=1
  fi
done

echo "1..$n"
echo "# $checked malformed files checked; fail=$fail"
[ $checked -ge 60 ] || { echo "# fewer than 60 malformed files found"; fail=1; }
exit $fail
