#!/bin/sh
# install-deps.sh [--optional] PKG...
# Installs the Debian packages that are missing. As root it runs apt-get;
# otherwise it prints the exact command to run and fails (unless --optional,
# where it only says what is missing and carries on).
optional=0
if [ "$1" = "--optional" ]; then optional=1; shift; fi
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
       { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing; }; then
        exit 0
    fi
    echo "apt-get could not install:$missing" >&2
    [ $optional = 1 ] && exit 0
    exit 1
fi
if [ $optional = 1 ]; then
    echo "note: optional packages not installed:$missing (sudo apt-get install$missing)"
    exit 0
fi
echo "missing Debian packages; run:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 1
