#!/usr/bin/env bash
# Builds supportbill_VERSION_amd64.deb with dpkg-deb (docs/design.md §11):
#   /usr/bin/supportbill                 a release binary with the Swift runtime linked in
#                                        (--static-swift-stdlib): it needs libpq5 and libc only
#   /lib/systemd/system/supportbill@*    the template service and one timer per job
#   /etc/supportbill/jobs/<job>.toml     the default job parameters, as conffiles (an edited
#                                        file survives an upgrade; dpkg asks about conflicts)
#   /usr/share/doc/supportbill/          README, INSTALL, the env and pgpass examples, the
#                                        Prometheus alert rules
# postinst creates the system user and group `supportbill`; timers are not enabled (configure
# the connection first: deploy/INSTALL.md).
#
# Usage: deploy/build-deb.sh [OUTPUT_DIR]        (default: .build/deb)
#   SUPPORTBILL_BINARY=path  package this binary instead of building one (tests; CI reuses a build)
#   SUPPORTBILL_VERSION=x.y  the package version (default: Supportbill.version in the source)
#   SUPPORTBILL_SCRATCH_PATH=dir  SwiftPM's build directory (default .build; the test uses
#                            .build-release, since `swift test` holds .build)
# A release build takes several minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

output="${1:-.build/deb}"
version="${SUPPORTBILL_VERSION:-$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/supportbill/Supportbill.swift)}"
if [ -z "$version" ]; then
    echo "build-deb: cannot read the version from Sources/supportbill/Supportbill.swift" >&2
    exit 1
fi
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

binary="${SUPPORTBILL_BINARY:-}"
if [ -z "$binary" ]; then
    scratch=(--scratch-path "${SUPPORTBILL_SCRATCH_PATH:-.build}")
    swift build -c release --product supportbill --static-swift-stdlib "${scratch[@]}"
    binary="$(swift build -c release --static-swift-stdlib "${scratch[@]}" --show-bin-path)/supportbill"
fi
if [ ! -x "$binary" ]; then
    echo "build-deb: no executable at $binary" >&2
    exit 1
fi
# The binary must not load the toolchain's Swift runtime: a server has none.
if ldd "$binary" | grep -q 'libswift'; then
    echo "build-deb: $binary links the Swift runtime dynamically; build it with --static-swift-stdlib:" >&2
    ldd "$binary" | grep libswift >&2
    exit 1
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$binary" "$root/usr/bin/supportbill"
if command -v strip >/dev/null; then strip --strip-unneeded "$root/usr/bin/supportbill"; fi
install -d -m 0755 "$root/lib/systemd/system" "$root/etc/supportbill/jobs" "$root/usr/share/doc/supportbill" "$root/DEBIAN"
install -m 0644 deploy/systemd/supportbill@* "$root/lib/systemd/system/"
install -m 0644 jobs/*.toml "$root/etc/supportbill/jobs/"
install -m 0644 README.md deploy/INSTALL.md deploy/supportbill.env.example deploy/pgpass.example \
    deploy/prometheus/supportbill-alerts.yml "$root/usr/share/doc/supportbill/"

installed_size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: supportbill
Version: $version
Architecture: amd64
Maintainer: supportbill maintainers <supportbill@localhost>
Depends: libpq5
Section: admin
Priority: optional
Installed-Size: $installed_size
Description: batch billing jobs for paid technical support
 Turns the tickets, time entries, services and payments a helpdesk and a billing
 platform keep in PostgreSQL into billable items, invoices, credit-ledger rows,
 incident grants and contract charges, run by systemd timers. Idempotent jobs:
 a rerun bills nothing twice.
CONTROL
(cd "$root" && find etc/supportbill/jobs -name '*.toml' -printf '/%p\n' | sort) > "$root/DEBIAN/conffiles"

cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent group supportbill >/dev/null; then
        groupadd --system supportbill
    fi
    if ! getent passwd supportbill >/dev/null; then
        useradd --system --gid supportbill --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin --comment "supportbill billing jobs" supportbill
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
    fi
fi
exit 0
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
# On removal the timers stop; on upgrade they keep their state (INSTALL.md: stop them first).
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop 'supportbill@*.timer' 'supportbill@*.service' || true
    systemctl disable supportbill@monthly-rollup.timer supportbill@threshold-topup.timer \
        supportbill@suspension-sweep.timer supportbill@incident-grants.timer \
        supportbill@contract-expiry-rollover.timer >/dev/null 2>&1 || true
fi
exit 0
PRERM
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
exit 0
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$output"
package="$output/supportbill_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$package" >/dev/null
echo "$package"
