#!/usr/bin/env bash
# Rewrite every lock from pyproject.toml: one hashed lock per role, so production installs no
# test tool and only the provider SDKs it uses. Needs uv (`pip install uv`).
set -euo pipefail
cd "$(dirname "$0")/.."
compile() { uv pip compile pyproject.toml --generate-hashes --python-version 3.11 "$@"; }
compile -o requirements/runtime.lock
compile --extra google -o requirements/google.lock
compile --extra microsoft -o requirements/microsoft.lock
compile --extra llm -o requirements/llm.lock
compile --all-extras -o requirements/dev.lock
# pip 23 (the one Python 3.11 ships) reads litellm's `httpx[http2]` as a second, unpinned
# requirement and refuses --require-hashes; pinning httpx with its extra satisfies it.
for lock in requirements/*.lock; do
  sed -i 's/^httpx==\([0-9.]*\) \\$/httpx[http2]==\1 \\/' "$lock"
done
