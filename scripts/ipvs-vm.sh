#!/usr/bin/env bash
# Runs tests against a kernel with IPVS: the development machines' kernels have no CONFIG_IP_VS, so
# this boots Debian's distribution kernel (linux-image-cloud-amd64, IPVS as modules) in QEMU
# (KVM when /dev/kvm is there, else TCG) from a small initramfs holding busybox, this machine's
# node/ipvsadm/keepalived/ip with their shared libraries, the IPVS/veth/bridge modules and this
# checkout's dist/, build/ and runtime node_modules. Inside, it runs
#   node --test dist/test/<TEST>   (default: lb-ipvs-kernel.test.js)
# prints the TAP output on the serial console, then one line
#   TSK_IPVS_VM_RESULT {"rc":N,"kernel":"...","ipvs":"...","pass":N,"fail":N,"skip":N,"seconds":N}
# and powers off. This script exits with the test's exit code (2: the VM could not be built or run).
#
#   scripts/ipvs-vm.sh [--node-test-option ...] [TEST.js ...]   (as root: apt-get download into the cache)
# Environment:
#   TSK_IPVS_VM_CACHE    cache directory (default /var/cache/tskeepalived-ipvs-vm): the kernel .deb and
#                        its extracted tree are kept there; nothing fetched goes into the repository
#   TSK_IPVS_VM_KERNEL   kernel package (default: what linux-image-cloud-amd64 depends on)
#   TSK_IPVS_VM_TIMEOUT  seconds before QEMU is killed (default 900)
#   TSK_IPVS_VM_MEM      guest memory in MiB (default 2048)
#   TSK_IPVS_VM_CPU      QEMU -cpu model under TCG (default max; KVM uses host)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TSK_IPVS_VM_CACHE:-/var/cache/tskeepalived-ipvs-vm}
TIMEOUT=${TSK_IPVS_VM_TIMEOUT:-900}
MEM=${TSK_IPVS_VM_MEM:-2048}
TESTS=()
NODEARGS=""
for a in "$@"; do
  case "$a" in
  --*) NODEARGS="$NODEARGS '${a//\'/}'" ;; # node --test options such as --test-name-pattern=NAT
  *) TESTS+=("$a") ;;
  esac
done
[ ${#TESTS[@]} -eq 0 ] && TESTS=(lb-ipvs-kernel.test.js lb-ipvs-sched.test.js)

say() { printf 'ipvs-vm: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 2
}
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || die "missing: $1 (Debian package $2): apt-get install $2"; }

need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need busybox busybox-static
need dpkg-deb dpkg
need apt-get apt
need ipvsadm ipvsadm
need keepalived keepalived
need ip iproute2
need depmod kmod
file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked' || ldd "$(command -v busybox)" 2>&1 | grep -q 'not a dynamic' ||
  die 'busybox is not the static one: apt-get install busybox-static'
[ -f "$ROOT/dist/test/${TESTS[0]}" ] || die "dist/test/${TESTS[0]} not built: npm run build"

T0=$(date +%s)
mkdir -p "$CACHE"

# ---- the kernel: Debian's cloud kernel (small, IPVS/veth/bridge as modules) ----
PKG=${TSK_IPVS_VM_KERNEL:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
[ -n "$PKG" ] || die 'no kernel package: apt-cache knows no linux-image-cloud-amd64 (apt-get update?)'
KDIR="$CACHE/$PKG"
if [ ! -f "$KDIR/.complete" ]; then
  say "downloading $PKG"
  rm -rf "$CACHE"/linux-image-* # an older kernel of the cache (the package moved on)
  mkdir -p "$KDIR/deb"
  (cd "$KDIR/deb" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2) || die "apt-get download $PKG failed"
  dpkg-deb -x "$KDIR"/deb/*.deb "$KDIR/tree" || die "cannot extract $PKG"
  # the package has no modules.dep (the installer runs depmod): make it
  depmod -b "$KDIR/tree" "$(ls "$KDIR/tree/lib/modules")" || die "depmod failed for $PKG"
  touch "$KDIR/.complete"
fi
KVER=$(ls "$KDIR/tree/lib/modules")
VMLINUZ="$KDIR/tree/boot/vmlinuz-$KVER"
MODDIR="$KDIR/tree/lib/modules/$KVER"
[ -f "$VMLINUZ" ] || die "no vmlinuz in $PKG"
grep -q '^CONFIG_IP_VS=[my]' "$KDIR/tree/boot/config-$KVER" || die "$PKG has no CONFIG_IP_VS"
T_KERNEL=$(($(date +%s) - T0))

# ---- the initramfs: two newc archives, concatenated (the kernel unpacks one after the other) ----
# The base (busybox, node/ipvsadm/keepalived/ip and their libraries, the modules) is cached, keyed
# by the kernel and the binaries and libraries it holds; the project part is made at each run.
BINS="$(command -v node) $(command -v busybox)"
for b in ipvsadm keepalived ip; do BINS="$BINS $(PATH=/usr/sbin:/sbin:$PATH command -v $b)"; done
LIBS=$(for b in $BINS; do ldd "$b" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}'; done | sort -u)
# kernel modules to load (with their dependencies); ipvlan: test/vrrp-ipvlan.test.ts
WANT='ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_sh ip_vs_dh ip_vs_mh ip_vs_lblc ip_vs_lblcr veth bridge ipvlan'
# shellcheck disable=SC2086
BASE_KEY=$({
  echo "$KVER base-v1 $WANT"
  stat -L -c '%n %s %Y' $BINS $LIBS
} | md5sum | cut -c1-16)
BASE="$CACHE/base-$BASE_KEY.cpio"
STAGE=$(mktemp -d "$CACHE/stage.XXXXXX")
INITRD="$STAGE.cpio"
BSTAGE="$STAGE.base"
cleanup() { rm -rf "$STAGE" "$INITRD" "$BSTAGE" "$BASE.tmp"; }
trap cleanup EXIT
if [ ! -f "$BASE" ]; then
  mkdir -p "$BSTAGE"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,tmp,run,var,modules,bb}
  ln -s ../run "$BSTAGE/var/run"

  # shared objects, preserving paths (ldd of each binary, plus the loader)
  copy_with_libs() {
    local bin=$1 dest=$2
    mkdir -p "$BSTAGE$(dirname "$dest")"
    cp -L "$bin" "$BSTAGE$dest"
    ldd "$bin" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
      if [ ! -e "$BSTAGE$lib" ]; then
        mkdir -p "$BSTAGE$(dirname "$lib")"
        cp -L "$lib" "$BSTAGE$lib"
      fi
    done
  }
  copy_with_libs "$(command -v node)" /usr/bin/node
  for b in ipvsadm keepalived ip; do copy_with_libs "$(PATH=/usr/sbin:/sbin:$PATH command -v $b)" "/usr/sbin/$b"; done
  # busybox applets in /bb (last on PATH, so the real ip, ipvsadm... win)
  cp "$(command -v busybox)" "$BSTAGE/bb/busybox"
  for a in $("$BSTAGE/bb/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$BSTAGE/bb/$a"; done
  ln -s /bb/busybox "$BSTAGE/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$BSTAGE/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$BSTAGE/etc/group"
  printf '127.0.0.1 localhost\n' >"$BSTAGE/etc/hosts"
  mkdir -p "$BSTAGE/etc/iproute2" && cp -r /etc/iproute2/. "$BSTAGE/etc/iproute2/" 2>/dev/null || true

  # kernel modules and their dependencies, dependencies first (modules.dep)
  declare -A SEEN=()
  ORDER=()
  resolve() {
    local name=$1 line path deps d
    line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -1) || true
    [ -n "$line" ] || {
      grep -qE "/$name\.ko" "$MODDIR/modules.builtin" 2>/dev/null && return 0
      die "module $name not in $PKG"
    }
    path=${line%%:*}
    [ -n "${SEEN[$path]:-}" ] && return 0
    SEEN[$path]=1
    deps=${line#*:}
    for d in $deps; do
      d=$(basename "$d")
      resolve "${d%%.ko*}"
    done
    ORDER+=("$path")
  }
  for m in $WANT; do resolve "$m"; done
  : >"$BSTAGE/modules/order"
  for p in "${ORDER[@]}"; do
    f=$(basename "$p")
    cp "$MODDIR/$p" "$BSTAGE/modules/$f"
    echo "$f" >>"$BSTAGE/modules/order"
  done
  (cd "$BSTAGE" && find . -mindepth 1 | cpio -o -H newc --quiet) >"$BASE.tmp"
  rm -f "$CACHE"/base-*.cpio
  mv "$BASE.tmp" "$BASE"
  rm -rf "$BSTAGE"
fi
mkdir -p "$STAGE/project"

# the project: compiled code, native addon, runtime dependencies (not the dev tools' binaries)
cp -r "$ROOT/dist" "$ROOT/bin" "$ROOT/examples" "$ROOT/package.json" "$STAGE/project/"
mkdir -p "$STAGE/project/build/Release" && cp "$ROOT"/build/Release/*.node "$STAGE/project/build/Release/"
mkdir -p "$STAGE/project/node_modules"
for d in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
  case "$(basename "$d")" in @biomejs | @esbuild | esbuild | typescript | .bin) continue ;; esac
  cp -r "$d" "$STAGE/project/node_modules/"
done

TESTARGS=""
for t in "${TESTS[@]}"; do TESTARGS="$TESTARGS dist/test/$t"; done
cat >"$STAGE/init" <<EOF
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/bb HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
for m in \$(cat /modules/order); do insmod /modules/\$m || echo "insmod \$m failed"; done
ip link set lo up
hostname ipvs-vm
IPVS=\$(head -1 /proc/net/ip_vs 2>/dev/null)
echo "TSK_IPVS_VM_BOOTED \$(cut -d' ' -f1 /proc/uptime)s \$IPVS"
cd /project
S0=\$(cut -d. -f1 /proc/uptime)
: >/tmp/tap # before tail -f: busybox tail gives up on a file that is not there yet
TSK_IPVS_VM=1 TSK_SH_TIMEOUT_MS=120000 node --test --test-concurrency=1 --test-reporter=tap $NODEARGS $TESTARGS > /tmp/tap 2>&1 &
NODE=\$!
tail -f /tmp/tap &
TAIL=\$!
wait \$NODE
RC=\$?
sleep 1
kill \$TAIL
S1=\$(cut -d. -f1 /proc/uptime)
n() { v=\$(grep -E "^# \$1 [0-9]+" /tmp/tap | tail -1 | cut -d' ' -f3); echo \${v:-0}; }
echo "TSK_IPVS_VM_RESULT {\"rc\":\$RC,\"kernel\":\"\$(uname -r)\",\"ipvs\":\"\$IPVS\",\"pass\":\$(n pass),\"fail\":\$(n fail),\"skip\":\$(n skipped),\"seconds\":\$((S1 - S0))}"
poweroff -f
EOF
chmod +x "$STAGE/init"
{
  cat "$BASE"
  (cd "$STAGE" && find . -mindepth 1 | cpio -o -H newc --quiet)
} >"$INITRD"
T_BUILD=$(($(date +%s) - T0 - T_KERNEL))
say "kernel $KVER ($T_KERNEL s), initramfs $(($(stat -c %s "$INITRD") / 1048576)) MiB ($T_BUILD s; base ${BASE##*/})"

# ---- boot ----
ACCEL=tcg
CPU=${TSK_IPVS_VM_CPU:-max}
if [ -w /dev/kvm ]; then
  ACCEL=kvm
  CPU=host
fi
say "booting with $ACCEL (timeout $TIMEOUT s)"
LOG="$STAGE.log"
trap 'cleanup; rm -f "$LOG"' EXIT
T1=$(date +%s)
set +e
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -machine q35,accel="$ACCEL" -cpu "$CPU" -smp 2 -m "$MEM" \
  -nographic -no-reboot -nodefaults -serial stdio -monitor none -net none \
  -kernel "$VMLINUZ" -initrd "$INITRD" \
  -append 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init' </dev/null | tr -d '\r' | tee "$LOG"
QRC=${PIPESTATUS[0]}
set -e
T_BOOT=$(($(date +%s) - T1))
RESULT=$(grep -a '^TSK_IPVS_VM_RESULT ' "$LOG" | tail -1 | cut -d' ' -f2-)
if [ -z "$RESULT" ]; then
  say "no result from the VM (qemu exit $QRC after $T_BOOT s)"
  exit 2
fi
say "VM ran $T_BOOT s (kernel+download $T_KERNEL s, initramfs $T_BUILD s, total $(($(date +%s) - T0)) s, $ACCEL)"
echo "TSK_IPVS_VM_TIMES {\"download\":$T_KERNEL,\"build\":$T_BUILD,\"vm\":$T_BOOT,\"accel\":\"$ACCEL\"}"
RC=$(printf '%s' "$RESULT" | sed -E 's/.*"rc":([0-9]+).*/\1/')
exit "$RC"
