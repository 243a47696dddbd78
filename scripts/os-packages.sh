#!/usr/bin/env bash
# Debian packages that `make test` and `make demo` need beyond Python, Go, git and make.
# One line per package: "<debian package> <file that proves it is installed>".
# Only what is missing is installed; a warm machine runs no apt at all.
set -euo pipefail

PACKAGES=(
  "openssh-server /usr/sbin/sshd"  # the ssh Git server of tests/source
  "chromium /usr/bin/chromium"     # the browser that tests/ui drive through Playwright
)

missing=()
for entry in "${PACKAGES[@]}"; do
  read -r package proof <<<"$entry"
  [ -e "$proof" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "os-packages: missing Debian packages: ${missing[*]}" >&2
  echo "os-packages: installing them needs root or password-less sudo; run as root:" >&2
  echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "os-packages: missing packages ${missing[*]}, and apt-get is not here (not Debian?); install them by hand" >&2
  exit 1
fi

echo "os-packages: installing ${missing[*]} with apt-get"
install() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}
# The package lists are refreshed only when the install fails with the ones already here.
if ! install; then
  echo "os-packages: install failed; refreshing the package lists (apt-get update) and retrying"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  install
fi
