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
echo "$( [ $fail = 0 ] && echo 7 || echo 'some' ) checks; fail=$fail"
exit $fail
