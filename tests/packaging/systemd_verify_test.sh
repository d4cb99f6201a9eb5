#!/usr/bin/env bash
# Checks a systemd unit of contrib/ as meson configured it.
#
# usage: systemd_verify_test.sh CONFIGURED_UNIT BINDIR BUILT_UDPBEAT ARGS [LINE...]
#
#   - ExecStart= runs BINDIR/udpbeat ARGS (configure_file substituted the
#     configured bindir), e.g. ARGS 'serve $UDPBEAT_SERVE_ARGS';
#   - the hardening every udpbeat unit has (DynamicUser=yes, no capabilities,
#     ProtectSystem=strict, ...) and each LINE, exactly;
#   - `systemd-analyze verify` (works offline, systemd need not be PID 1) on a
#     copy whose ExecStart= points at the built binary, since verify checks that
#     the binary exists: exit status 0 and no diagnostic about the unit
#     (verify exits 0 on unknown keys and syscall groups, so its output counts);
#   - `systemd-analyze security --offline=yes`: exposure at most 2.0, so a
#     change that drops hardening fails.
# Exit status 77 (meson: skipped) when systemd-analyze is not installed.
set -euo pipefail
unit=$1 bindir=$2 built=$(realpath "$3") args=$4
shift 4
name=$(basename "$unit")

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not found: skipped (apt-get install systemd)"
  exit 77
fi

fail=0
for line in "ExecStart=$bindir/udpbeat $args" 'DynamicUser=yes' 'CapabilityBoundingSet=' \
    'AmbientCapabilities=' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' "$@"; do
  grep -qxF "$line" "$unit" || { echo "FAIL: $unit has no line: $line"; fail=1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
copy=$tmp/$name
sed "s|^ExecStart=$bindir/udpbeat |ExecStart=$built |" "$unit" >"$copy"

set +e
out=$(systemd-analyze verify --man=no "$copy" 2>&1)
rc=$?
set -e
echo "$ systemd-analyze verify --man=no $name (exit $rc)"
echo "$out"
mine=$(grep -F -e "$copy" -e "$name" <<<"$out" || true)
if [[ $rc -ne 0 || -n $mine ]]; then
  echo "FAIL: systemd-analyze verify reported problems with the unit"
  fail=1
fi

if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  set +e
  out=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$copy" 2>&1)
  rc=$?
  set -e
  echo "$(tail -n 1 <<<"$out")"
  if [[ $rc -ne 0 ]]; then
    echo "$out"
    echo "FAIL: systemd-analyze security: exposure above 2.0"
    fail=1
  fi
fi
exit $fail
