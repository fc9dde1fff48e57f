#!/usr/bin/env bash
# Installs what the offline VS Code end-to-end tests need, idempotently:
#  - Debian: chromium (headless browser), libkrb5-dev (a native module of code-server builds
#    against it), ripgrep (code-server's @vscode/ripgrep would otherwise download rg);
#  - code-server (the real VS Code workbench + a Node extension host) into .tmp/vscode-test/cs (git-ignored),
#    kept out of the project's package.json.
set -euo pipefail
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
SCRATCH=${SCRATCH:-$ROOT_DIR/.tmp/vscode-test}
CS_VERSION=${CS_VERSION:-4.100.3}
CS_DIR="$SCRATCH/cs"
mkdir -p "$SCRATCH/tmp" "$SCRATCH/xdg"
# Keep code-server's files out of $HOME and /tmp.
export TMPDIR="$SCRATCH/tmp" XDG_CONFIG_HOME="$SCRATCH/xdg" XDG_DATA_HOME="$SCRATCH/xdg/data"

if ! command -v chromium >/dev/null || ! dpkg -s libkrb5-dev >/dev/null 2>&1 || ! command -v rg >/dev/null; then
  echo "setup: installing Debian packages (chromium libkrb5-dev ripgrep)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium libkrb5-dev ripgrep >/dev/null
fi

if [ -x "$CS_DIR/node_modules/.bin/code-server" ] && [ "$("$CS_DIR/node_modules/.bin/code-server" --version 2>/dev/null | head -1 | cut -d' ' -f1)" = "$CS_VERSION" ]; then
  echo "setup: code-server $CS_VERSION already installed"
  exit 0
fi

echo "setup: installing code-server@$CS_VERSION into $CS_DIR"
rm -rf "$CS_DIR"; mkdir -p "$CS_DIR"
export npm_config_yes=true           # node-pty's postinstall runs `npx node-gyp`
export npm_config_unsafe_perm=true   # code-server's postinstall refuses to run as root without it
# @vscode/ripgrep's postinstall downloads rg unless it finds this cached tarball: use Debian's rg.
mkdir -p "$TMPDIR/vscode-ripgrep-cache-1.15.11"
tar czf "$TMPDIR/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C /usr/bin rg
cd "$CS_DIR"
echo '{"name":"peershare-e2e-code-server","private":true}' > package.json
if ! npm install --no-audit --no-fund --no-save "code-server@$CS_VERSION" > "$SCRATCH/cs-install.log" 2>&1; then
  tail -40 "$SCRATCH/cs-install.log"; exit 1
fi
"$CS_DIR/node_modules/.bin/code-server" --version | head -1
