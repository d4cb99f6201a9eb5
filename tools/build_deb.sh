#!/usr/bin/env bash
# Builds the udpbeat .deb from a copy of the working tree (dpkg-buildpackage
# writes into the tree and into its parent directory).
#
#   tools/build_deb.sh [OUTDIR]     default OUTDIR: ./dist
#
# Copies the files git knows about (tracked, plus untracked ones that are not
# ignored: no build directories) to a temporary directory, runs
# `dpkg-buildpackage -us -uc` (source and binary) there, lists the package (dpkg-deb -c) and
# copies the .deb and .buildinfo/.changes to OUTDIR. Installs the build tools
# (debhelper, devscripts, dpkg-dev, fakeroot) and the Build-Depends when
# missing (as root). DEB_BUILD_OPTIONS=nocheck skips the tests.
#
# Not part of `meson test`: a package build takes minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$(realpath -m "${1:-dist}")

need=()
for p in debhelper devscripts dpkg-dev fakeroot; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [[ ${#need[@]} -gt 0 ]]; then
  echo "build_deb.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! dpkg-checkbuilddeps debian/control 2>/dev/null; then
  echo "build_deb.sh: installing the Build-Depends" >&2
  export DEBIAN_FRONTEND=noninteractive
  mk-build-deps --install --remove \
    --tool 'apt-get -y -qq --no-install-recommends' debian/control >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/udpbeat"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
  tar -C "$src" --null -T - -cf - | tar -C "$work/udpbeat" -xf -

start=$SECONDS
(cd "$work/udpbeat" && dpkg-buildpackage -us -uc -j"$(nproc)")
echo "build_deb.sh: built in $((SECONDS - start)) s"

mkdir -p "$out"
for f in "$work"/*.deb "$work"/*.dsc "$work"/*.tar.* "$work"/*.buildinfo "$work"/*.changes; do
  [[ -e $f ]] && cp "$f" "$out/"
done
for deb in "$work"/*.deb; do
  echo "== $(basename "$deb") ($(stat -c %s "$deb") bytes)"
  dpkg-deb -c "$deb"
done
