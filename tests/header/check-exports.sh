#!/bin/sh
# Fail if libelm exports anything but elm_* or lacks SONAME libelm.so.0.
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^elm_' | grep -v '^LIBELM_0$' | grep -v '^$')
if [ -n "$bad" ]; then
  echo "non-elm symbols exported by $lib:"; echo "$bad" | head -20; exit 1
fi
n=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -c '^elm_')
[ "$n" -gt 0 ] || { echo "no elm_ symbols exported"; exit 1; }
readelf -d "$lib" | grep -q 'SONAME.*\[libelm\.so\.0\]' || { echo "SONAME is not libelm.so.0"; readelf -d "$lib" | grep SONAME; exit 1; }
echo "$n elm_* symbols exported, nothing else; SONAME libelm.so.0"
