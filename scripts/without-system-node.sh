#!/usr/bin/env bash
# Run a command as on a machine without Node.js: PATH becomes a folder of links to every
# program on it except node, npm, npx and corepack, so only the venv's Node.js
# (testbed/deploy/nodejs.py, from `make venv`) can serve. Usage: scripts/without-system-node.sh CMD...
set -euo pipefail
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
declare -A seen=()
programs=()
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
    for program in "$dir"/*; do
        name=${program##*/}
        case $name in node | nodejs | npm | npx | corepack) continue ;; esac
        [[ -n ${seen[$name]:-} || ! -x $program ]] && continue  # the first on PATH wins, as for a lookup
        seen[$name]=1
        programs+=("$program")
    done
done
ln -s -t "$bin" "${programs[@]}"
if PATH=$bin command -v node >/dev/null; then echo "node is still on PATH: $(PATH=$bin command -v node)"; exit 1; fi
PATH=$bin "$@"
