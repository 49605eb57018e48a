#!/usr/bin/env bash
# make package: build bin/siemfwd for Linux and the .deb and .rpm packages
# into OUT (default dist/) with the pinned nfpm, fetched through the Go
# module proxy like any module.
set -euo pipefail
cd "$(dirname "$0")/.."
NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0"
OUT="${1:-dist}"
mkdir -p "$OUT"
export PKG_ARCH="${PKG_ARCH:-$(go env GOARCH)}"
# Debian and RPM versions must start with a digit: a tag v1.2.3 gives
# 1.2.3, an untagged tree 0.0.0~git<commit>.
tag="$(git describe --tags --exact-match 2>/dev/null || true)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
export PKG_VERSION="${PKG_VERSION:-${tag:+${tag#v}}}"
PKG_VERSION="${PKG_VERSION:-0.0.0~git${commit}}"
CGO_ENABLED=0 GOOS=linux GOARCH="$PKG_ARCH" go build -trimpath \
	-ldflags "-X main.version=${VERSION:-$PKG_VERSION}" -o bin/package/siemfwd ./cmd/siemfwd
for packager in deb rpm; do
	go run "$NFPM" package --config packaging/nfpm.yaml --packager "$packager" --target "$OUT/"
done
ls -l "$OUT"
