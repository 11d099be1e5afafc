#!/usr/bin/env bash
# Regenerate tricky.expected.json and bom.expected.json from the REAL Docker
# Compose v2 binary, so the expectations in this directory are reproducible,
# and check which files of the malformed corpus (tests/malformed at the
# workspace root) Compose refuses against tests/malformed/compose-rejects.txt.
#
# Usage: tests/corpus/regen-expected.sh            (from anywhere)
#        COMPOSE="/path/to/docker-compose" tests/corpus/regen-expected.sh
#
# Needs: docker compose plugin or docker-compose (v2) on PATH, python3.
# No daemon is needed: only `docker compose config` is used.
#
# How a value is observed: a throwaway compose file with one service whose
# `environment:` passes every key through by name (`- TRICKY_01`), rendered
# with `config --format json`.  `config` re-escapes every `$` of a value as
# `$$` in its output (so that the output can be loaded again); the value a
# container receives is therefore the rendered string with `$$` -> `$`.
# Each result is cross-checked against `config --environment` (the raw
# interpolation environment, unescaped) for every single-line value.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${COMPOSE:-}" ]]; then
  read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "regen-expected: neither 'docker compose' nor 'docker-compose' found" >&2
  exit 1
fi

echo "regen-expected: using: $("${compose[@]}" version)" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/h"

# run_compose ENVFILE ARGS...  -- clean environment so that no shell variable
# can override or feed the env file (an exported variable wins over the file).
run_compose() {
  local envfile="$1"; shift
  env -i PATH="$PATH" HOME="$work/h" \
    "${compose[@]}" -p corpus --env-file "$envfile" -f "$work/compose.yaml" "$@"
}

# regen CONF PREFIX OUT
regen() {
  local conf="$here/$1" prefix="$2" out="$here/$3"
  python3 - "$conf" "$prefix" "$work/compose.yaml" <<'PY'
import re, sys
conf, prefix, out = sys.argv[1:4]
text = open(conf, "rb").read().decode("utf-8", "replace")
keys = sorted(set(re.findall(re.escape(prefix) + r"_[0-9]{2}", text)))
with open(out, "w") as f:
    f.write("services:\n  probe:\n    image: busybox\n    network_mode: none\n    environment:\n")
    for k in keys:
        f.write("      - %s\n" % k)
PY
  run_compose "$conf" config --format json >"$work/config.json"
  run_compose "$conf" config --environment >"$work/environment.txt"
  python3 - "$work/compose.yaml" "$work/config.json" "$work/environment.txt" "$out" <<'PY'
import json, sys
compose, config, environment, out = sys.argv[1:5]
keys = [l.strip()[2:] for l in open(compose) if l.strip().startswith("- ")]
env = json.load(open(config))["services"]["probe"].get("environment") or {}
raw_env = {}
for line in open(environment, encoding="utf-8", newline="\n").read().split("\n"):
    if "=" in line:
        k, v = line.split("=", 1)
        raw_env.setdefault(k, v)
result = {}
for k in keys:
    v = env.get(k)
    if v is None:
        sys.exit("regen-expected: %s is not defined by %s" % (k, out))
    v = v.replace("$$", "$")  # undo the `config` output escaping
    if "\n" not in v and "\r" not in v and raw_env.get(k) != v:
        sys.exit("regen-expected: %s: config json %r != config --environment %r" % (k, v, raw_env.get(k)))
    result[k] = v
with open(out, "w", encoding="utf-8") as f:
    json.dump(result, f, ensure_ascii=False, indent=2, sort_keys=True)
    f.write("\n")
print("regen-expected: wrote %s (%d keys)" % (out, len(result)), file=sys.stderr)
PY
}

regen tricky.conf TRICKY tricky.expected.json
regen bom.conf BOM bom.expected.json

# The malformed-input corpus lives at the workspace root (tests/malformed, see its README).
# compose-rejects.txt there lists the cases Compose refuses too: the script fails if Compose
# accepts one of them or refuses one that is not listed. (The others are lines Compose accepts and
# we refuse on purpose, or checks of our own such as value types.)
malformed="$(cd "$here/../../../tests/malformed" && pwd)"
mapfile -t compose_rejects < <(grep -v -e '^#' -e '^$' "$malformed/compose-rejects.txt")
printf 'services:\n  probe:\n    image: busybox\n    network_mode: none\n' >"$work/compose.yaml"
for f in "$malformed"/*.conf; do
  name="$(basename "$f")"
  must_reject=false
  for listed in "${compose_rejects[@]}"; do
    [[ "$name" == "$listed" ]] && must_reject=true
  done
  if run_compose "$f" config --format json >/dev/null 2>"$work/err.txt"; then
    if $must_reject; then
      echo "regen-expected: $name was ACCEPTED by compose (expected an error)" >&2
      exit 1
    fi
    echo "regen-expected: $name: accepted by compose (we are stricter, or it is our own check)" >&2
  else
    if ! $must_reject; then
      echo "regen-expected: $name was REJECTED by compose but is not in compose-rejects.txt:" >&2
      cat "$work/err.txt" >&2
      exit 1
    fi
    echo "regen-expected: $name: $(sed "s#$malformed/##" "$work/err.txt")" >&2
  fi
done
for listed in "${compose_rejects[@]}"; do
  [[ -f "$malformed/$listed" ]] || { echo "regen-expected: $listed is listed but missing" >&2; exit 1; }
done
