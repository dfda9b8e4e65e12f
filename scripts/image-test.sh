#!/usr/bin/env bash
# `npm run test:image` (as root; .ci/run runs it after npm test): builds the container image from
# examples/Dockerfile, unchanged, with podman, and runs it in a lab of network namespaces
# (test/image.test.ts): MASTER + VIP, `podman stop` (SIGTERM to PID 1) and `podman kill` handovers,
# HEALTHCHECK transitions, JSON logs, --read-only root, image size, no compiler, `tskeepalived -v`.
#
# No registry is reachable here, so the Dockerfile's base images are local stand-ins, tagged with the
# names its FROM lines use: debian:bookworm-slim is a debootstrapped bookworm (minbase, slimmed as the
# real one is); node:20 adds this machine's Node 20 laid out as the official images have it (node,
# npm, npx and the headers under /usr/local) and python3, make and g++ as its buildpack-deps base has.
# An image of either name without our label (a real, pulled one) is used as it is.
# Cached in $TSK_IMAGE_CACHE (default /var/cache/tskeepalived-image) and podman's storage, so a second
# run only rebuilds the image; delete both (scripts/image-test.sh --clean) for a cold run.
#
# Exit: 0 passed, or skipped with the reason printed (not root, podman/runc/debootstrap missing, podman
# cannot run a container on this machine); 1 when the build or a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${TSK_IMAGE_CACHE:-/var/cache/tskeepalived-image}
IMAGE=${TSK_IMAGE:-localhost/tskeepalived:image-test}
BASE=localhost/tskeepalived-stand-in/debian:bookworm-minbase
NODE=docker.io/library/node:20
DEBIAN=docker.io/library/debian:bookworm-slim
SMOKE=localhost/tskeepalived-stand-in/smoke:latest
LABEL=org.tskeepalived.stand-in
# bump when the recipe of a stand-in changes: images with another value are rebuilt
RECIPE=3
# runc: crun, podman's default, refuses this kernel's hybrid cgroups; the lowered ulimits: podman's
# default nproc (32768) and nofile are refused by setrlimit here
PODMAN=(podman --runtime /usr/sbin/runc)
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1000:1000)

say() { printf 'image-test: %s\n' "$*"; }
skip() {
  say "SKIP: $*"
  exit 0
}
die() {
  say "FAIL: $*" >&2
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "${1-}" = --clean ]; then
  for i in "$IMAGE" "$NODE" "$DEBIAN" "$BASE" "$SMOKE"; do
    lbl=$("${PODMAN[@]}" image inspect --format "{{index .Labels \"$LABEL\"}}" "$i" 2>/dev/null || true)
    case "$i:$lbl" in "$IMAGE":* | *:[!\<]*) "${PODMAN[@]}" rmi -f "$i" >/dev/null 2>&1 || true ;; esac
  done
  rm -rf "$CACHE"
  "${PODMAN[@]}" image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
  say "removed the stand-in images, the test image and $CACHE"
  exit 0
fi

# ---- can this machine run it at all? (skip with the reason, never fail, when it cannot)
[ "$(id -u)" = 0 ] || skip "not root: the image test builds network namespaces and runs podman as root (sudo npm run test:image)"
for c in podman runc debootstrap ip tar node; do
  command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || skip "missing: $c (npm run setup installs it: scripts/tools.tsv, use 'image')"
done
[ -x /usr/sbin/runc ] || skip "runc is not at /usr/sbin/runc (Debian's runc package)"
info_err=$("${PODMAN[@]}" info 2>&1 >/dev/null) || skip "podman cannot start here: ${info_err%%$'\n'*}"
case "$(node -v)" in v20.*) ;; *) skip "the stand-in base images need this machine's Node 20 (found $(node -v))" ;; esac

mkdir -p "$CACHE"
t_all=$(now)

# A tiny image (/usr/bin/true and its libraries) proves podman + runc can run a container here,
# before a minute goes into debootstrap.
if ! "${PODMAN[@]}" image exists "$SMOKE"; then
  smoke=$(mktemp -d)
  mkdir -p "$smoke/usr/bin"
  cp /usr/bin/true "$smoke/usr/bin/true"
  for lib in $(ldd /usr/bin/true | grep -o '/[^ ]*'); do
    mkdir -p "$smoke$(dirname "$lib")" && cp -L "$lib" "$smoke$lib"
  done
  tar -C "$smoke" -c . | "${PODMAN[@]}" import -q --change "LABEL $LABEL=$RECIPE" - "$SMOKE" >/dev/null
  rm -rf "$smoke"
fi
run_err=$("${PODMAN[@]}" run --rm "${ULIMITS[@]}" --network none "$SMOKE" /usr/bin/true 2>&1) ||
  skip "podman cannot run a container on this machine: ${run_err%%$'\n'*}"

# ---- the stand-in base images
label_of() { "${PODMAN[@]}" image inspect --format "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
# standin_state NAME WANT -> 0: build it; 1: ours and current; 2: an image of that name that is not
# ours (a real, pulled one): keep it
standin_state() {
  "${PODMAN[@]}" image exists "$1" || return 0
  local l
  l=$(label_of "$1")
  if [ "$l" = "$2" ]; then return 1; fi
  if [ -z "$l" ] || [ "$l" = '<no value>' ]; then return 2; fi
  return 0
}

t_stand=$(now)
if [ "$(label_of "$BASE")" != "$RECIPE" ]; then
  tarball="$CACHE/bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    say "debootstrap --variant=minbase bookworm (about a minute on an idle machine)"
    t_deb=$(now)
    rootfs="$CACHE/rootfs.tmp"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed, see $CACHE/debootstrap.log"
    # slimmed as debian:bookworm-slim is: no package caches, lists, manuals, docs or translations
    mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' \
      'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' >"$rootfs/etc/dpkg/dpkg.cfg.d/slim"
    printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
      'APT::Install-Recommends "false";' >"$rootfs/etc/apt/apt.conf.d/slim"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    tar -C "$rootfs" -c . >"$tarball.tmp" && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    say "debootstrap: $(since "$t_deb") s"
  fi
  "${PODMAN[@]}" import -q --change "LABEL $LABEL=$RECIPE" --change 'CMD ["bash"]' "$tarball" "$BASE" >/dev/null
fi

# debian:bookworm-slim (the runtime stage): the slimmed minbase itself
set +e
standin_state "$DEBIAN" "$RECIPE"
st=$?
set -e
case $st in
  0) "${PODMAN[@]}" tag "$BASE" "$DEBIAN" && say "tagged the $DEBIAN stand-in (debootstrap minbase, slimmed)" ;;
  2) say "using the $DEBIAN image found in podman's storage as it is" ;;
esac

# node:20 (the build stage): + this machine's Node 20 under /usr/local as the official images lay it
# out, and python3, make, g++ as its buildpack-deps base has them
want="$RECIPE node-$(node -v)"
set +e
standin_state "$NODE" "$want"
st=$?
set -e
if [ $st = 0 ]; then
  t_node=$(now)
  ctx=$(mktemp -d)
  nodebin=$(readlink -f "$(command -v node)")
  npmdir=$(readlink -f "$(dirname "$(readlink -f "$(command -v npm)")")/..")
  incdir=$(readlink -f "$(dirname "$nodebin")/../include/node")
  [ -f "$npmdir/bin/npm-cli.js" ] || die "cannot find npm's package next to $(command -v npm)"
  [ -f "$incdir/node_api.h" ] || die "cannot find Node's headers (include/node next to $nodebin)"
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include"
  cp "$nodebin" "$ctx/usr/local/bin/node"
  cp -a "$npmdir" "$ctx/usr/local/lib/node_modules/npm"
  cp -a "$incdir" "$ctx/usr/local/include/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  # The build stage's npm ci must reach the npm registry. Where this machine reaches it through a
  # TLS-inspecting proxy, its npm trusts an extra CA (NODE_EXTRA_CA_CERTS or npm's cafile): the build
  # stand-in trusts the same bundle. Only the build stage gets it, never the runtime image.
  host_ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
  ca_lines=''
  if [ -n "$host_ca" ] && [ "$host_ca" != null ] && [ -r "$host_ca" ]; then
    cp "$host_ca" "$ctx/host-ca.crt"
    ca_lines="COPY host-ca.crt /usr/local/share/tskeepalived-stand-in/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/tskeepalived-stand-in/host-ca.crt"
  fi
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE
COPY usr/local /usr/local/
ENV NODE_VERSION=$(node -v | tr -d v)
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null && rm -rf /var/lib/apt/lists/*
$ca_lines
LABEL $LABEL="$want"
CMD ["node"]
EOF
  "${PODMAN[@]}" build -q "${ULIMITS[@]}" -t "$NODE" -f "$ctx/Containerfile" "$ctx" >"$CACHE/stand-in.log" 2>&1 ||
    die "building the $NODE stand-in failed (log: $CACHE/stand-in.log)"
  rm -rf "$ctx"
  say "built the $NODE stand-in in $(since "$t_node") s ($(node -v), python3 make g++${ca_lines:+, trusting the CA bundle $host_ca as this machine does})"
elif [ $st = 2 ]; then
  say "using the $NODE image found in podman's storage as it is"
fi
say "stand-in images: $(since "$t_stand") s"

# ---- the image, from examples/Dockerfile as it is. --format docker: the OCI format has no HEALTHCHECK.
t_build=$(now)
say "podman build -f examples/Dockerfile . (log: $CACHE/build.log)"
if ! "${PODMAN[@]}" build --format docker "${ULIMITS[@]}" -f examples/Dockerfile -t "$IMAGE" . >"$CACHE/build.log" 2>&1; then
  tail -n 30 "$CACHE/build.log" >&2
  die "podman build -f examples/Dockerfile . failed (whole log: $CACHE/build.log)"
fi
build_s=$(since "$t_build")
# this build's dangling intermediate images (they carry the stand-ins' label); the named ones stay
"${PODMAN[@]}" image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
say "image built in $build_s s"

# ---- run it: test/image.test.ts (compiled), in a lab of network namespaces
[ dist/test/image.test.js -nt test/image.test.ts ] || npm run build >/dev/null
t_run=$(now)
TSK_IMAGE="$IMAGE" TSK_IMAGE_BUILD_SECONDS="$build_s" TSK_IMAGE_BASE="$DEBIAN" \
  node --test --test-reporter=spec dist/test/image.test.js || die "the image checks failed (above)"
say "checks: $(since "$t_run") s; whole image test: $(since "$t_all") s"
