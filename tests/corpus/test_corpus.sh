#!/bin/sh
# Cross-reader malformed-input corpus: `elm inspect` on every file of every
# MANIFEST.tsv under tests/fixtures/{io,data,model}/malformed.
#
# For each entry whose expected status is not ELM_OK, inspect must
#   - exit 1,
#   - write exactly one line on stderr, naming the file (its base name),
#     and containing the manifest's message substring,
#   - not hang or run away: CPU time beyond the start-up floor (the least
#     CPU of three `elm --version`, libtorch's loading being most of a run)
#     under 5 s and wall time under 30 s. These are hang guards, ~50x what
#     the work takes, not a speed target: a 1 s CPU bound failed in CI when
#     start-up alone took 0.9 s on a loaded machine.
#   - not allocate what a malformed file claims: peak RSS beyond the start-up
#     floor under 64 MiB (256 MiB in a sanitizer build), so a header that
#     claims a 1 TiB tensor cannot make inspect reserve it.
#     Without /usr/bin/time only the wall-time guard applies.
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

timer=
if [ -x /usr/bin/time ] && /usr/bin/time -o /dev/null -f '%U' true 2>/dev/null; then timer=/usr/bin/time; fi
# start-up floor: least CPU and largest peak RSS of three `elm --version`
cpu_floor=999999; rss_floor=0
if [ -n "$timer" ]; then
  for i in 1 2 3; do
    $timer -o "$tmp/time" -f '%U %S %M' "$elm" --version >/dev/null 2>&1
    set -- $(tail -n 1 "$tmp/time" | awk '{ printf "%d %d", ($1 + $2) * 1000, $3 }')
    [ "$1" -lt $cpu_floor ] && cpu_floor=$1
    [ "$2" -gt $rss_floor ] && rss_floor=$2
  done
fi
cpu_limit_ms=5000; wall_limit_ms=30000; rss_limit_kb=65536
[ "${ELM_SANITIZED:-0}" = 1 ] && { cpu_limit_ms=40000; wall_limit_ms=120000; rss_limit_kb=262144; }
echo "# start-up floor ${cpu_floor} ms CPU, ${rss_floor} KiB RSS; guards: CPU +${cpu_limit_ms} ms, wall ${wall_limit_ms} ms, RSS +${rss_limit_kb} KiB"

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
      $timer -o "$tmp/time" -f '%U %S %M' "$elm" inspect $opts "$path" >"$tmp/out" 2>"$tmp/err"; rc=$?
      set -- $(tail -n 1 "$tmp/time" | awk '{ printf "%d %d", ($1 + $2) * 1000, $3 }')
      cpu=$(($1 - cpu_floor)); rss=$(($2 - rss_floor))
    else
      "$elm" inspect $opts "$path" >"$tmp/out" 2>"$tmp/err"; rc=$?
      cpu=0; rss=0
    fi
    t1=$(now_ms)
    wall=$((t1 - t0))
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
    [ $cpu -lt $cpu_limit_ms ] || why="$why ${cpu} ms CPU beyond start-up (hang guard $cpu_limit_ms);"
    [ $wall -lt $wall_limit_ms ] || why="$why ${wall} ms wall (hang guard $wall_limit_ms);"
    [ $rss -lt $rss_limit_kb ] || why="$why peak RSS ${rss} KiB beyond start-up (limit $rss_limit_kb);"
    if [ -z "$why" ]; then
      echo "ok $n - $file ($status, +${cpu} ms CPU, +${rss} KiB RSS): $(head -c 200 "$tmp/err")"
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
