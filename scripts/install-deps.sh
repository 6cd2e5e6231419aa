#!/usr/bin/env bash
# Install the Debian packages isol needs to build, test and demo.
#   scripts/install-deps.sh              install (apt-get) everything listed
#   scripts/install-deps.sh --if-missing only when a library or tool is missing
set -euo pipefail

PKGS=(build-essential pkg-config libmnl-dev libnftnl-dev libnl-3-dev libnl-route-3-dev
      libev-dev libjansson-dev libcmocka-dev libnetfilter-conntrack-dev libyaml-dev
      libcurl4-openssl-dev nftables iproute2
      procps util-linux jq conntrack openssl)

missing() {
	command -v pkg-config >/dev/null || return 0
	pkg-config --exists libmnl libnftnl libnl-route-3.0 jansson cmocka libnetfilter_conntrack \
		yaml-0.1 libcurl || return 0
	[ -f /usr/include/ev.h ] || return 0
	command -v nft >/dev/null && command -v ip >/dev/null && command -v cc >/dev/null || return 0
	command -v jq >/dev/null || return 0
	command -v conntrack >/dev/null || return 0
	command -v openssl >/dev/null || return 0
	command -v unshare >/dev/null || return 0
	return 1
}

if [ "${1:-}" = "--if-missing" ] && ! missing; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install: ${PKGS[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${PKGS[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
echo "install-deps: done"
