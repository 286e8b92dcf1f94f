#!/usr/bin/env bash
# Installs what the Node tests need: node and npm (with apt, when missing; the playground's script check
# and tools/wasmoe's TestOpenAIClient run node), and this directory's pinned packages (npm ci into the
# ignored node_modules, when it is missing or older than package-lock.json).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  apt_install() { $sudo apt-get install -y "$@" || { $sudo apt-get update && $sudo apt-get install -y "$@"; }; }
  command -v node >/dev/null || apt_install nodejs
  command -v npm >/dev/null || apt_install npm # Debian's nodejs comes without npm; NodeSource's has it
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
echo "tools/openai-client: node $(node --version), openai $(node -p 'require("./node_modules/openai/package.json").version')"
