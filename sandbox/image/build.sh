#!/usr/bin/env bash
# Builds Lathe's default sandbox image offline: a minimal Debian root filesystem made with
# debootstrap from the Debian mirror apt already uses, imported with `docker import`.
# No registry is contacted. Needs root, debootstrap and a reachable Docker engine (DOCKER_HOST).
#
# usage: sandbox/image/build.sh [IMAGE]     (default lathe-sandbox:<workspace version>)
#   LATHE_IMAGE_SUITE   Debian suite (default: the host's codename, else bookworm)
#   LATHE_IMAGE_MIRROR  Debian mirror (default: the host's first apt URI, else deb.debian.org)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$root/Cargo.toml")"
image="${1:-lathe-sandbox:$version}"

packages=bash,coreutils,findutils,grep,sed,git,python3,ca-certificates,procps,util-linux,diffutils,patch,less,make,xz-utils,gzip,tar,file

codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
suite="${LATHE_IMAGE_SUITE:-${codename:-bookworm}}"
mirror="${LATHE_IMAGE_MIRROR:-}"
if [ -z "$mirror" ]; then
    mirror="$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true) | awk '{print $2}' | grep -v security | head -n1)"
fi
if [ -z "$mirror" ]; then
    mirror="$( (grep -hs '^deb ' /etc/apt/sources.list || true) | awk '{print $2}' | head -n1)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

for tool in debootstrap docker tar; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (apt-get install debootstrap docker.io)" >&2; exit 1; }
done

work="$(mktemp -d /var/tmp/lathe-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "build.sh: debootstrap $suite from $mirror into $rootfs" >&2
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >&2

# A small, reproducible-ish root: no apt lists or caches, no logs, a known default locale.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
mkdir -p "$rootfs/workspace"
chmod 1777 "$rootfs/tmp"

echo "build.sh: importing as $image" >&2
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /workspace' \
    --change 'CMD ["sleep", "infinity"]' \
    --message "lathe sandbox image ($suite)" \
    - "$image" >&2
echo "build.sh: built $image" >&2
