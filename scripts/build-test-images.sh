#!/usr/bin/env bash
# Builds the Docker images the tests run, without pulling anything from a registry (this machine and CI cannot
# reach one): a minimal Debian bookworm root filesystem with python3, made by debootstrap from the Debian mirror apt
# already uses, imported as an image whose entrypoint is python3 (like the real action images), then tagged under
# every name the tests use. Idempotent: an image that already exists is left alone, and the root filesystem tarball
# is cached under $RAP_IMAGE_CACHE (default /var/cache/rap-runner) so a rebuild after `docker system prune` is quick.
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail

# shellcheck source=scripts/test-images.sh
source "$(dirname "$0")/test-images.sh"
cache_dir="${RAP_IMAGE_CACHE:-/var/cache/rap-runner}"
rootfs_tar="$cache_dir/bookworm-python3-rootfs.tar"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror apt is configured with (deb822 "URIs:" or one-line "deb" sources), so debootstrap needs no
# network access that apt does not already have.
debian_mirror() {
  local uri
  uri=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)
  if [[ -z "$uri" ]]; then
    uri=$(grep -hsE '^\s*deb\s' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' | grep -E '/debian/?$' | head -n1 || true)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

build_rootfs() {
  local dir
  dir=$(mktemp -d /tmp/rap-rootfs.XXXXXX)
  trap 'rm -rf "$dir"' RETURN
  local mirror
  mirror=$(debian_mirror)
  echo "debootstrap bookworm with python3 from $mirror"
  debootstrap --variant=minbase --include=python3 bookworm "$dir" "$mirror" >"$cache_dir/debootstrap.log" 2>&1 || {
    tail -n 20 "$cache_dir/debootstrap.log" >&2
    echo "debootstrap failed (full log: $cache_dir/debootstrap.log)" >&2
    return 1
  }
  # Package caches and lists are not needed to run python3; they only make the image bigger.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
}

if ! have_image "$primary"; then
  mkdir -p "$cache_dir"
  [[ -s "$rootfs_tar" ]] || build_rootfs
  echo "importing $primary"
  docker import -c 'ENTRYPOINT ["python3"]' -c 'WORKDIR /workspace' "$rootfs_tar" "$primary" >/dev/null
fi

for alias in "${aliases[@]}"; do
  have_image "$alias" || docker image tag "$primary" "$alias"
done
echo "test images ready: $primary ${aliases[*]}"
