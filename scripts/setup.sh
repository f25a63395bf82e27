#!/usr/bin/env bash
# Installs every Debian 12 package the project needs. Idempotent: packages
# already present are skipped, so a second run does no network work.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang-16 llvm-16 lld-16 clang-format
  libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 iputils-ping ethtool
  libsystemc-dev verilator yosys gtkwave
  libyaml-cpp-dev libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libpcap-dev
  python3 python3-scapy
  valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all ${#PACKAGES[@]} packages present"
