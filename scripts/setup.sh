#!/usr/bin/env bash
# `npm run setup` (as root): installs the Debian packages in scripts/tools.tsv that are missing, and
# says what it installs. .ci/run calls it too, so CI and a newcomer's machine get the same tools.
# Installing keepalived, bird2 or snmpd does not start the distribution's service (policy-rc.d below):
# the tests run their own keepalived, BIRD and snmpd processes inside network namespaces.
set -euo pipefail
cd "$(dirname "$0")"

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

need=()
while IFS=$'\t' read -r cmd pkg _uses; do
  case "$cmd" in ''|'#'*) continue ;; esac
  if ! have "$cmd"; then
    case " ${need[*]-} " in *" $pkg "*) ;; *) need+=("$pkg") ;; esac
  fi
done < tools.tsv

if [ ${#need[@]} -eq 0 ]; then
  echo "setup: every tool in scripts/tools.tsv is installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing packages: ${need[*]}" >&2
  echo "setup: run as root (sudo npm run setup) to install them with apt-get" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: missing packages: ${need[*]}; no apt-get here, install their equivalents by hand" >&2
  exit 1
fi

echo "setup: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "setup: installed ${need[*]}"
