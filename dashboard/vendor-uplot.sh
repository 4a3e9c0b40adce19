#!/usr/bin/env bash
# Refreshes the vendored uPlot in dashboard/src/vendor/uplot from npm. Only maintainers run
# this (to upgrade); building and serving the dashboard never needs npm: the files are in the
# repository and compiled into the binary. The tarball must match the pinned integrity.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VERSION=${UPLOT_VERSION:-1.6.32}
# npm's published integrity of uplot@1.6.32 (the sha512 of the tarball).
INTEGRITY=${UPLOT_INTEGRITY:-sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$VERSION" >/dev/null)
tarball="$work/uplot-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$got" != "$INTEGRITY" ]]; then
  echo "vendor-uplot.sh: integrity mismatch for uplot@$VERSION: $got" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p src/vendor/uplot
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" \
   "$work/package/LICENSE" src/vendor/uplot/
echo "$VERSION" > src/vendor/uplot/VERSION
echo "uPlot $VERSION vendored into $(pwd)/src/vendor/uplot"
