#!/usr/bin/env bash
# `meson install --destdir` lays out everything a user (or a package) needs.
#
# usage: install_layout_test.sh BUILDDIR PREFIX BINDIR DATADIR MANDIR UNITDIR \
#                               BASHCOMPDIR ZSHCOMPDIR MANPAGE...
# (paths as meson configured them; MANPAGE: the pages man/meson.build found at
# configure time, e.g. udpbeat.1, udpbeat.7)
#
# Installs the build into a temporary directory (--no-rebuild: meson test has
# built everything) and checks that these exist there:
#   BINDIR/udpbeat (executable, --version works), MANDIR/manN/PAGE for each
#   page, BASHCOMPDIR/udpbeat, ZSHCOMPDIR/_udpbeat, UNITDIR/udpbeat.service
#   and UNITDIR/udpbeat-agent.service with ExecStart= at BINDIR/udpbeat, the
#   examples in DATADIR/doc/udpbeat/examples (targets.example, prometheus/);
#   and that nothing lands outside PREFIX except the units and the bash
#   completion (whose directories pkg-config may place elsewhere).
set -euo pipefail
builddir=$1 prefix=$2 bindir=$3 datadir=$4 mandir=$5 unitdir=$6 bashdir=$7 zshdir=$8
shift 8

abs() { [[ $1 == /* ]] && echo "$1" || echo "$prefix/$1"; }
bindir=$(abs "$bindir") datadir=$(abs "$datadir") mandir=$(abs "$mandir")
unitdir=$(abs "$unitdir") bashdir=$(abs "$bashdir") zshdir=$(abs "$zshdir")

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild --quiet >/dev/null

fail=0
check() {  # check TEST PATH
  if test "$1" "$dest$2"; then
    echo "ok    $2"
  else
    echo "FAIL  $2 missing"
    fail=1
  fi
}
check -x "$bindir/udpbeat"
"$dest$bindir/udpbeat" --version >/dev/null || { echo "FAIL  udpbeat --version"; fail=1; }
if [[ $# -eq 0 ]]; then
  echo "FAIL  no man pages given"
  fail=1
fi
for page in "$@"; do
  check -f "$mandir/man${page##*.}/$page"
done
check -f "$bashdir/udpbeat"
check -f "$zshdir/_udpbeat"
check_unit() {  # check_unit UNIT SUBCOMMAND
  check -f "$unitdir/$1"
  if [[ -f $dest$unitdir/$1 ]] && ! grep -q "^ExecStart=$bindir/udpbeat $2 " "$dest$unitdir/$1"; then
    echo "FAIL  $unitdir/$1: ExecStart= is not $bindir/udpbeat $2"
    fail=1
  fi
}
check_unit udpbeat.service serve
check_unit udpbeat-agent.service heartbeat
examples=$datadir/doc/udpbeat/examples
check -f "$examples/targets.example"
for f in prometheus.yml agents.yml udpbeat.rules.yml udpbeat.rules.test.yml; do
  check -f "$examples/prometheus/$f"
done

# Anything outside the prefix?
while IFS= read -r f; do
  f=${f#"$dest"}
  case $f in
    "$prefix"/* | "$unitdir"/* | "$bashdir"/*) ;;
    *) echo "FAIL  $f is outside the prefix $prefix"; fail=1 ;;
  esac
done < <(find "$dest" -type f)

echo "installed files:"
(cd "$dest" && find . -type f | sort | sed 's/^\./  /')
exit $fail
