#!/usr/bin/env bash
# Makes WebGPU usable on a bare Debian/Ubuntu machine: installs a Vulkan driver new enough for Dawn
# (Mesa >= 24; lavapipe, the software rasteriser, when there is no GPU) and the Vulkan loader.
# Idempotent: does nothing when a new enough driver is already present.
#   bash scripts/setup.sh            install what is missing
#   bash scripts/setup.sh --check    only report, exit 1 if something is missing
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

MIN_MESA_MAJOR=24

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
# The cache listing is read whole before matching: with pipefail, `ldconfig -p | grep -q` fails now and
# then, because grep stops at the first match and ldconfig dies of SIGPIPE (exit 141).
loader_present() {
  local cache ldc f
  ldc=$(command -v ldconfig || true)
  [ -n "$ldc" ] || for f in /sbin/ldconfig /usr/sbin/ldconfig; do [ -x "$f" ] && ldc=$f && break; done
  if [ -n "$ldc" ]; then
    cache=$("$ldc" -p 2>/dev/null || true)
    case "$cache" in *'libvulkan.so.1 '*) return 0;; esac
  fi
  for f in /lib/*/libvulkan.so.1 /usr/lib/*/libvulkan.so.1 /usr/lib/libvulkan.so.1 /usr/lib64/libvulkan.so.1; do
    [ -e "$f" ] && return 0
  done
  return 1
}

mesa_ok() {
  local v major
  v=$(mesa_version)
  [ -n "$v" ] || return 1
  major=${v%%.*}; major=${major##*:}
  [ "$major" -ge "$MIN_MESA_MAJOR" ] 2>/dev/null
}

# A machine with a real GPU driver (NVIDIA, AMD, Intel) already has an ICD; we only handle the case
# where the Mesa Vulkan driver is missing or too old.
other_icd() {
  local f
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
    [ -e "$f" ] || continue
    case "$f" in *lvp_icd*|*radeon_icd*|*intel_icd*|*intel_hasvk_icd*|*virtio_icd*|*nouveau_icd*|*asahi_icd*|*freedreno_icd*|*broadcom_icd*|*panfrost_icd*|*powervr_icd*|*gfxstream*) ;; *) echo "$f"; return 0;; esac
  done
  return 1
}

if loader_present && mesa_ok; then
  say "Vulkan loader present, Mesa Vulkan drivers $(mesa_version) (>= $MIN_MESA_MAJOR): nothing to do"
  exit 0
fi
if loader_present && icd=$(other_icd); then
  say "Vulkan loader present with a vendor driver ($icd): leaving it as it is"
  exit 0
fi

if [ "$check_only" = 1 ]; then
  say "missing: Vulkan loader and/or Mesa >= $MIN_MESA_MAJOR (installed: '$(mesa_version)')"
  exit 1
fi

[ "$(id -u)" = 0 ] || die "installing the Vulkan driver needs root (apt-get). Run: sudo bash scripts/setup.sh"
command -v apt-get >/dev/null || die "no apt-get: install Mesa >= $MIN_MESA_MAJOR (mesa-vulkan-drivers) and libvulkan1 with your package manager"

. /etc/os-release
codename=${VERSION_CODENAME:-}
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
major_of() { local v=${1##*:}; echo "${v%%.*}"; }

say "updating the package lists"
apt-get update -q >/dev/null
cand=$(candidate mesa-vulkan-drivers)
if [ -n "$cand" ] && [ "$cand" != "(none)" ] && [ "$(major_of "$cand")" -ge "$MIN_MESA_MAJOR" ] 2>/dev/null; then
  say "installing libvulkan1 and mesa-vulkan-drivers $cand from ${ID:-the} ${codename:-} repositories"
  apt-get install "${apt_opts[@]}" libvulkan1 mesa-vulkan-drivers >/dev/null
else
  [ "${ID:-}" = debian ] || die "mesa-vulkan-drivers candidate '$cand' is older than $MIN_MESA_MAJOR and this is not Debian; install Mesa >= $MIN_MESA_MAJOR by hand"
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  suite="${codename}-backports"
  # Reuse the mirror the machine already uses for its main suite (never a hard-coded host).
  uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk -v c="$codename" '
      /^URIs:/ {u=$2} /^Suites:/ {for (i=2;i<=NF;i++) if ($i==c) found=u} /^$/ {u=""}
      END {print found}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v c="$codename" '$1=="deb" && $3==c {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "found no apt source for '$codename' in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  list=/etc/apt/sources.list.d/aunce-backports.list
  if ! grep -rqs "^[^#]*${suite}" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    say "adding $suite from $uri to $list"
    echo "deb $uri $suite main" > "$list"
    apt-get update -q >/dev/null
  else
    say "$suite already in the apt sources"
  fi
  say "installing libvulkan1 and mesa-vulkan-drivers from $suite"
  apt-get install "${apt_opts[@]}" -t "$suite" libvulkan1 mesa-vulkan-drivers >/dev/null
fi

mesa_ok || die "after installing, mesa-vulkan-drivers is '$(mesa_version)', still older than $MIN_MESA_MAJOR"
loader_present || die "after installing, libvulkan.so.1 is still not found by ldconfig"
say "done: Mesa Vulkan drivers $(mesa_version)"
