#!/bin/sh
# Vendor the front-end assets from the npm registry at pinned versions (no CDN: the app must work on a closed
# network). Run with `make vendor`; the files it writes are committed. Licences are copied beside each package.
set -eu
cd "$(dirname "$0")"
BOOTSTRAP=5.3.9
HTMX=2.0.11
# axe-core: only the accessibility tests inject it (tests/e2e/test_accessibility.py); no page loads it.
AXE=4.14.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() {  # package version
    (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && mkdir -p "$1" && tar -xzf "$1"-*.tgz -C "$1" --strip-components=1)
}
fetch bootstrap "$BOOTSTRAP"
fetch htmx.org "$HTMX"
fetch axe-core "$AXE"
rm -rf bootstrap htmx axe-core
mkdir -p bootstrap/css bootstrap/js htmx
cp "$tmp/bootstrap/dist/css/bootstrap.min.css" "$tmp/bootstrap/dist/css/bootstrap.min.css.map" bootstrap/css/
cp "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js" "$tmp/bootstrap/dist/js/bootstrap.bundle.min.js.map" bootstrap/js/
cp "$tmp/bootstrap/LICENSE" bootstrap/LICENSE
cp "$tmp/htmx.org/dist/htmx.min.js" htmx/htmx.min.js
cp "$tmp/htmx.org/LICENSE" htmx/LICENSE
mkdir -p axe-core
cp "$tmp/axe-core/axe.min.js" "$tmp/axe-core/LICENSE" axe-core/
printf 'bootstrap %s\nhtmx.org %s\naxe-core %s\n' "$BOOTSTRAP" "$HTMX" "$AXE" > VERSIONS
echo "vendored: $(tr '\n' ' ' < VERSIONS)"
