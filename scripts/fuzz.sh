#!/usr/bin/env bash
# scripts/fuzz.sh [FUZZTIME] — run every Go fuzz target in the module for a
# short time each, starting from its seed corpus. `make test` calls it so that
# malformed input (Ignition JSON, DNS and DHCP packets, certificates…) is
# exercised on every run, not only when someone remembers. Minimizing a new
# interesting input is capped at 5 s: on a busy 2-core box it can otherwise
# stall the run without failing it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-15s}
status=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"${line#*:}")
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name ($fuzztime)"
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$pkg"; then
    echo "fuzz: $pkg $name FAILED" >&2
    status=1
  fi
done < <(grep -rHE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' --include='*_test.go' . | sed 's|^\./||' | sort)
exit $status
