#!/usr/bin/env bash
# Install the real clients the tests in tests/clients/ drive: Claude Code and the Codex CLI,
# pinned, from npm, into .tools/ (or the directory given as $1). Idempotent: a client already
# installed at its pinned version is left alone. Needs node and npm; about 660 MB on disk.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${1:-.tools}"
CLAUDE_CODE_VERSION="2.1.197"
CODEX_VERSION="0.171.0"

install() {  # install DIR PACKAGE VERSION BINARY
    local dir="$TOOLS/$1" package="$2" version="$3" binary="$4"
    if [ -x "$dir/node_modules/.bin/$binary" ] && "$dir/node_modules/.bin/$binary" --version 2>/dev/null | grep -qF "$version"; then
        echo "$package@$version: already installed in $dir"
        return
    fi
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$package@$version")
    "$dir/node_modules/.bin/$binary" --version
}

install cc @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" claude
install codex @openai/codex "$CODEX_VERSION" codex
