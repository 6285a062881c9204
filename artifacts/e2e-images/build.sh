#!/usr/bin/env bash
# Builds the container images the Kubernetes [Conformance] e2e suite runs, under the names
# the suite expects (test/utils/image/manifest.go of k8s.io/kubernetes), faithful to
# upstream's Dockerfiles (test/images/*) but on Debian userland instead of Alpine:
#   * userland from Debian .deb files (trixie, or bookworm where upstream's base is bookworm),
#     fetched by apt with a private state under $E2E_WORK (signatures and SHA256 checked by
#     apt against the signed index) and unpacked with dpkg-deb, no maintainer scripts run;
#   * Go payloads from modules (agnhost from $BIN, nnp and sample-apiserver built here);
#   * layers and configs by imagebuilder (reproducible docker archives).
# A phase of scripts/build-artifacts.sh; environment:
#   BIN       built binaries (agnhost, coredns)
#   IB        imagebuilder binary
#   E2E_OUT   output: <name>.tar, <name>.digest, LIST (<ref> <file>), VERSIONS
#   E2E_WORK  scratch and download cache (kept between runs)
#   K8S_DIR   the k8s.io/kubernetes module directory (test/images sources, manifest.go)
#   CREATED   RFC 3339 time of every layer entry and config (reproducible)
#   NICE      prefix for compilers, e.g. "nice -n 19"
# artifacts/e2e-images/README.md says what each image holds and why.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${BIN:?}" "${IB:?}" "${E2E_OUT:?}" "${E2E_WORK:?}" "${K8S_DIR:?}" "${CREATED:?}"
read -r -a NICE_CMD <<<"${NICE:-nice -n 19}"
mkdir -p "$E2E_OUT" "$E2E_WORK"
T0=$(date +%s)
say() { echo "e2e-images: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "no Go toolchain on PATH"
[[ -x "$IB" ]] || die "imagebuilder $IB is not built"
for b in agnhost coredns; do [[ -x "$BIN/$b" ]] || die "$BIN/$b is not built"; done
[[ -f "$K8S_DIR/test/utils/image/manifest.go" ]] || die "$K8S_DIR is not the k8s.io/kubernetes module"

# --- build tools of this machine (not image contents) -------------------------------------
# apt and dpkg-deb are the machine's own; tar and xz unpack the .debs.
missing=()
# gcc, make, bzip2 and libc6-dev build busybox from its source (below).
for pkg in apt dpkg dpkg-dev tar xz-utils bzip2 ca-certificates debian-archive-keyring gcc make libc6-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Debian packages: apt with a private state per suite ----------------------------------
# The machine's own apt configuration (its sources, its dpkg status) is not touched: each
# suite has its sources.list, lists, an empty dpkg status (so apt resolves the full closure of
# Depends/Pre-Depends, Recommends left out) and an archive cache. Suites move with their
# point releases and security updates; VERSIONS records what was used.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MIRROR=http://deb.debian.org/debian
apt_opts() { # SUITE: the options that point apt at the suite's private state
  local a="$E2E_WORK/apt/$1"
  printf '%s\n' -o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o "Dir::State=$a/state" -o "Dir::State::Lists=$a/lists" -o "Dir::State::status=$a/status" \
    -o "Dir::Cache=$a/cache" -o "Dir::Cache::Archives=$a/cache/archives" \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Install-Recommends=false \
    -o Debug::NoLocking=true -o APT::Sandbox::User=root -o Acquire::Languages=none
}
apt_suite() { # SUITE ARGS...: apt-get on the suite's private state
  local suite=$1 opts
  shift
  mapfile -t opts < <(apt_opts "$suite")
  apt-get "${opts[@]}" "$@"
}
apt_update() { # SUITE: fetch the suite's signed indexes (once per run: call it up front)
  local suite=$1 a="$E2E_WORK/apt/$1"
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/state" "$E2E_WORK/debs/$suite"
  : >"$a/status"
  cat >"$a/sources.list" <<EOF
deb [signed-by=$KEYRING] $MIRROR $suite main
deb [signed-by=$KEYRING] $MIRROR $suite-updates main
deb [signed-by=$KEYRING] ${MIRROR}-security $suite-security main
deb-src [signed-by=$KEYRING] $MIRROR $suite main
EOF
  say "apt update ($suite)"
  apt_suite "$suite" update -qq >/dev/null 2>"$a/update.log" || { cat "$a/update.log" >&2; die "apt update of $suite failed"; }
}
# Packages a closure leaves out: needed only by maintainer or init scripts, which never run
# here (debconf: the scripts' questions; iproute2: nginx-common's init script). apt sees
# them as installed in the private dpkg status, so it does not pull them (nor what they need).
NOT_PULLED=(debconf iproute2)
resolve() { # SUITE PKG...: PKG=VERSION of PKGs and their Depends/Pre-Depends closure
  local suite=$1 a="$E2E_WORK/apt/$1" p v
  shift
  : >"$a/status"
  for p in "${NOT_PULLED[@]}"; do
    [[ " $* " == *" $p "* ]] && continue # asked for by name: resolved like any other
    v="$(apt_suite "$suite" -qq install -s "$p" 2>/dev/null | awk -v p="$p" '$1 == "Inst" && $2 == p {gsub(/[()]/, "", $3); print $3}')"
    printf 'Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: amd64\nMulti-Arch: foreign\nMaintainer: none\nDescription: not unpacked (maintainer scripts only)\n\n' "$p" "$v" >>"$a/status"
  done
  apt_suite "$suite" install -s -qq "$@" 2>/dev/null | awk '$1 == "Inst" {gsub(/[()]/, "", $3); print $2 "=" $3}' | sort
  : >"$a/status"
}
apt_cache_required() { # SUITE: the names of the suite's packages of priority required
  local opts
  mapfile -t opts < <(apt_opts "$1")
  apt-cache "${opts[@]}" dumpavail | awk '/^Package:/ {p = $2} /^Priority: required$/ {print p}' | sort -u
}
exact() { # SUITE PKG...: PKG=VERSION of the packages alone (no dependencies)
  local suite=$1 p
  shift
  for p; do
    echo "$p=$(apt_suite "$suite" -qq install -s --no-install-recommends "$p" 2>/dev/null |
      awk -v p="$p" '$1 == "Inst" && $2 == p {gsub(/[()]/, "", $3); print $3}')"
  done
}
deb_file() { # SUITE PKG=VERSION: the downloaded .deb (downloads it once; apt checks its hash)
  local suite=$1 pkg=${2%%=*} ver=${2#*=} dir="$E2E_WORK/debs/$1" f
  f="$(compgen -G "$dir/${pkg}_${ver//:/%3a}_*.deb" | head -1 || true)"
  if [[ -z "$f" ]]; then
    (cd "$dir" && apt_suite "$suite" download -qq "$pkg=$ver" >/dev/null 2>&1) || die "apt-get download $pkg=$ver ($suite) failed"
    f="$(compgen -G "$dir/${pkg}_${ver//:/%3a}_*.deb" | head -1)"
  fi
  echo "$f"
}
# Like Debian's slim images (dpkg path-exclude): no manuals, info pages, translations,
# lintian overrides or shell completions; each package's copyright file is kept (slim below).
DEB_EXCLUDES=(--exclude=./usr/share/man --exclude=./usr/share/info --exclude=./usr/share/locale
  --exclude=./usr/share/lintian --exclude=./usr/share/linda --exclude=./usr/share/bug
  --exclude=./usr/share/bash-completion --exclude=./usr/share/zsh --exclude=./usr/share/fish)
slim() { # DIR: keep only copyright files under usr/share/doc
  [[ -d "$1/usr/share/doc" ]] || return 0
  find "$1/usr/share/doc" -mindepth 2 ! -type d ! -name copyright -delete
  find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete
}
unpack() { # DIR SUITE PKG=VERSION...: unpack the packages' files into DIR (no scripts run)
  local dir=$1 suite=$2 p f
  shift 2
  for p; do
    f="$(deb_file "$suite" "$p")"
    # --keep-directory-symlink: bookworm's packages still ship /bin, /lib, ...; they land in
    # /usr through the merged-/usr symlinks of the skeleton.
    dpkg-deb --fsys-tarfile "$f" | tar -x -C "$dir" --keep-directory-symlink --no-same-owner "${DEB_EXCLUDES[@]}"
    echo "debian $suite $p" >>"$VERSIONS_TMP"
  done
}
VERSIONS_TMP="$E2E_WORK/VERSIONS.tmp"
: >"$VERSIONS_TMP"

# --- Go payloads: nnp (test/images/nonewprivs) and sample-apiserver, from modules ---------
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-buildvcs=false
GOBIN_DIR="$E2E_WORK/bin"
mkdir -p "$GOBIN_DIR"
go_key() { { go env GOVERSION; cat "$@"; } | sha256sum | cut -c1-32; }
build_go() { # NAME WRAPPER-DIR PACKAGE: build once per (Go version, wrapper go.mod/go.sum)
  local name=$1 dir=$2 pkg=$3 key
  key="$(go_key "$dir/go.mod" "$dir/go.sum" <(echo "$pkg"))"
  if [[ -x "$GOBIN_DIR/$name" && "$(cat "$GOBIN_DIR/$name.key" 2>/dev/null)" == "$key" ]]; then
    say "$name cached"
    return 0
  fi
  say "building $name ($pkg)"
  (cd "$dir" && "${NICE_CMD[@]}" go build -trimpath -ldflags "-s -w" -o "$GOBIN_DIR/$name.new" "$pkg")
  mv "$GOBIN_DIR/$name.new" "$GOBIN_DIR/$name"
  echo "$key" >"$GOBIN_DIR/$name.key"
}
# nnp is a main package of k8s.io/kubernetes itself: the artifact build's wrapper module.
build_go nnp "$ROOT/artifacts/kubernetes" k8s.io/kubernetes/test/images/nonewprivs
build_go sample-apiserver "$HERE/sample-apiserver" k8s.io/sample-apiserver

# --- busybox 1.37.0 from upstream's source ---------------------------------------------------
# Not Debian's binaries: Debian's busybox reverts upstream's ash change that keeps
# environment names which are no shell identifiers (data-1, p-data-1: the ConfigMap and
# Secret env [Conformance] tests read them back with `sh -c env`), and its busybox-static
# runs applets before PATH (FEATURE_SH_STANDALONE), so `sh -c nslookup` would not be bind's.
# Upstream's busybox:1.37.0 image and Alpine build upstream's source; so does this: the
# pristine tarball of Debian's source package (apt checks it against the signed Sources),
# `make defconfig`, static, without tc (it needs the CBQ headers newer kernels dropped).
build_busybox() {
  local src="$E2E_WORK/src/busybox" orig key tree
  mkdir -p "$src"
  orig="$(compgen -G "$src/busybox_1.37.0.orig.tar.*" | head -1 || true)"
  if [[ -z "$orig" ]]; then
    (cd "$src" && apt_suite trixie source --download-only -qq busybox >/dev/null 2>&1) || die "apt-get source busybox (trixie) failed"
    orig="$(compgen -G "$src/busybox_1.37.0.orig.tar.*" | head -1)" || die "trixie's busybox source is not 1.37.0"
  fi
  key="$( { sha256sum "$orig"; gcc -dumpfullversion; echo "defconfig static no-tc 1"; } | sha256sum | cut -c1-32)"
  if [[ -x "$GOBIN_DIR/busybox" && "$(cat "$GOBIN_DIR/busybox.key" 2>/dev/null)" == "$key" ]]; then
    say "busybox cached"
  else
    say "building busybox 1.37.0 from source"
    tree="$E2E_WORK/src/busybox-build"
    rm -rf "$tree" && mkdir -p "$tree"
    tar -xf "$orig" -C "$tree" --strip-components=1
    (cd "$tree" && make -s defconfig >/dev/null &&
      sed -i 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/; s/^CONFIG_TC=y/# CONFIG_TC is not set/' .config &&
      "${NICE_CMD[@]}" make -s -j"$(nproc)" busybox >build.log 2>&1) || { tail -20 "$tree/build.log" >&2; die "busybox build failed"; }
    install -m 0755 "$tree/busybox" "$GOBIN_DIR/busybox"
    echo "$key" >"$GOBIN_DIR/busybox.key"
  fi
  echo "busybox 1.37.0 (upstream source $(basename "$orig") sha256 $(sha256sum "$orig" | cut -c1-16)..., defconfig, static)" >>"$VERSIONS_TMP"
}

mod_version() { (cd "$1" && go list -m -f '{{.Version}}{{with .Replace}} => {{.Version}}{{end}}' "$2"); }

# --- versions of the images (the suite's names; tags from manifest.go) --------------------
tag_of() { # NAME: the tag manifest.go gives the e2e image NAME (first match)
  sed -n "s/.*Config{list\.PromoterE2eRegistry, \"$1\", \"\([^\"]*\)\"}.*/\1/p" "$K8S_DIR/test/utils/image/manifest.go" | head -"${2:-1}" | tail -1
}
E2E_REG=registry.k8s.io/e2e-test-images
AGNHOST_VERSION="$(cat "$K8S_DIR/test/images/agnhost/VERSION")"
declare -A REFS=(
  [agnhost]="$E2E_REG/agnhost:$(tag_of agnhost 2)"
  [agnhost-prev]="$E2E_REG/agnhost:$(tag_of agnhost 1)"
  [busybox]="$E2E_REG/busybox:$(tag_of busybox)"
  [nginx]="$E2E_REG/nginx:$(tag_of nginx 1)"
  [nginx-new]="$E2E_REG/nginx:$(tag_of nginx 2)"
  [glibc-dns-testing]="$E2E_REG/glibc-dns-testing:$(tag_of glibc-dns-testing)"
  [kitten]="$E2E_REG/kitten:$(tag_of kitten)"
  [nautilus]="$E2E_REG/nautilus:$(tag_of nautilus)"
  [nonewprivs]="$E2E_REG/nonewprivs:$(tag_of nonewprivs)"
  [nonroot]="$E2E_REG/nonroot:$(tag_of nonroot)"
  [sample-apiserver]="$E2E_REG/sample-apiserver:$(tag_of sample-apiserver)"
)
[[ "${REFS[agnhost]}" == *":$AGNHOST_VERSION" ]] || die "manifest.go's Agnhost is ${REFS[agnhost]}, the module's agnhost is $AGNHOST_VERSION"
for n in "${!REFS[@]}"; do [[ "${REFS[$n]}" != *: ]] || die "no tag for $n in manifest.go"; done

# --- the Debian packages of each userland ---------------------------------------------------
# trixie where upstream is Alpine 3.21/3.22 (busybox 1.37 like Alpine's; its tools are the
# nearer versions), bookworm where upstream's base is bookworm (glibc-dns-testing, nonroot)
# and for the older nginx tag (1.22, the nearest to 1.15).
for suite in bookworm trixie; do apt_update "$suite"; done
build_busybox
# libc-bin: getent, which Alpine's base has (musl-utils); the DNS tests run `getent hosts`.
AGNHOST_TOOLS=(bash bind9-dnsutils curl iperf iproute2 libc-bin netcat-openbsd util-linux) # apk: bash bind-tools curl iperf iproute2 netcat-openbsd util-linux-misc
mapfile -t AGNHOST_DEBS < <(resolve trixie "${AGNHOST_TOOLS[@]}")
mapfile -t NGINX_OLD_DEBS < <(resolve bookworm nginx)
mapfile -t NGINX_NEW_DEBS < <(resolve trixie nginx)
# debian:bookworm-slim: the packages of priority required (what debootstrap's minbase
# unpacks), then dnsutils as glibc-dns-testing's Dockerfile adds it.
mapfile -t REQUIRED < <(apt_cache_required bookworm)
mapfile -t SLIM_DEBS < <(resolve bookworm "${REQUIRED[@]}")
mapfile -t DNSUTILS_DEBS < <(comm -13 <(printf '%s\n' "${SLIM_DEBS[@]}") <(resolve bookworm "${REQUIRED[@]}" dnsutils))
mapfile -t BB_DEBS < <(exact trixie ca-certificates netbase)
for p in "${AGNHOST_DEBS[@]}" "${NGINX_OLD_DEBS[@]}" "${NGINX_NEW_DEBS[@]}" "${SLIM_DEBS[@]}" "${DNSUTILS_DEBS[@]}" "${BB_DEBS[@]}"; do
  [[ "$p" == *=?* ]] || die "apt could not resolve a package ($p)"
done

# --- cache key: same inputs, same archives -------------------------------------------------
sha() { sha256sum "$@" | cut -c1-32; }
KEY="$({
  sha "$HERE/build.sh" "$HERE/docker-entrypoint.sh" "$IB" "$BIN/agnhost" "$BIN/coredns" "$GOBIN_DIR"/{nnp,sample-apiserver,busybox}
  echo "$CREATED"
  printf '%s\n' "${AGNHOST_DEBS[@]}" "${NGINX_OLD_DEBS[@]}" "${NGINX_NEW_DEBS[@]}" "${SLIM_DEBS[@]}" "${DNSUTILS_DEBS[@]}" "${BB_DEBS[@]}"
  for n in "${!REFS[@]}"; do echo "$n ${REFS[$n]}"; done | sort
} | sha256sum | cut -c1-32)"
outputs_exist() { local n; for n in "${!REFS[@]}"; do [[ -s "$E2E_OUT/$n.tar" && -s "$E2E_OUT/$n.digest" ]] || return 1; done; [[ -s "$E2E_OUT/LIST" && -s "$E2E_OUT/VERSIONS" ]]; }
if [[ "$(cat "$E2E_OUT/.key" 2>/dev/null)" == "$KEY" ]] && outputs_exist; then
  say "cached (${#REFS[@]} images in $E2E_OUT): $(($(date +%s) - T0)) s"
  exit 0
fi

# --- rootfs pieces --------------------------------------------------------------------------
R="$E2E_WORK/rootfs"
rm -rf "$R" && mkdir -p "$R"
skeleton() { # DIR: merged /usr (as Debian's), /tmp, /root, /run
  local d=$1 l
  mkdir -p "$d"/usr/{bin,sbin,lib,lib64,local/bin,local/sbin,share} "$d"/{etc,tmp,root,run,home,var/tmp,var/log,var/lib,mnt,opt,srv,proc,sys,dev}
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$d/$l"; done
  ln -s ../run "$d/var/run"
  chmod 1777 "$d/tmp" "$d/var/tmp"
  chmod 0700 "$d/root"
}
busybox_applets() { # DIR LAYOUT: /bin/busybox and a symlink per applet; LAYOUT flat puts
  # every applet in /bin (as the busybox image does), merged puts them where busybox says
  # (bin, sbin, usr/bin, usr/sbin) under the merged /usr (as Alpine does, without merging)
  local d=$1 layout=$2 a dest
  mkdir -p "$d/bin"
  install -m 0755 "$GOBIN_DIR/busybox" "$d/bin/busybox"
  for a in $("$d/bin/busybox" --list-full); do
    case "$layout" in
      flat) dest="bin/${a##*/}" ;;
      merged) dest="usr/${a#usr/}" ;;
    esac
    [[ -e "$d/$dest" || -L "$d/$dest" ]] && continue
    mkdir -p "$d/$(dirname "$dest")"
    ln -s /bin/busybox "$d/$dest"
  done
}
prune_busybox() { # DIR: drop busybox's link for every command a Debian package installed
  # (apk does the same when a package replaces an applet), whichever PATH dir holds which
  local d=$1 l name other dir
  for l in "$d"/usr/bin/* "$d"/usr/sbin/*; do
    [[ -L "$l" && "$(readlink "$l")" == /bin/busybox ]] || continue
    name="${l##*/}"
    for dir in usr/local/sbin usr/local/bin usr/sbin usr/bin; do
      other="$d/$dir/$name"
      [[ "$other" == "$l" ]] && continue
      if [[ -e "$other" && "$(readlink -f "$other")" != "$d/usr/bin/busybox" ]]; then rm -f "$l"; break; fi
    done
  done
}
ca_bundle() { # DIR: /etc/ssl/certs/ca-certificates.crt as update-ca-certificates makes it
  local d=$1
  mkdir -p "$d/etc/ssl/certs"
  find "$d/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | xargs cat >"$d/etc/ssl/certs/ca-certificates.crt"
}
os_release() { # DIR SUITE-NAME VERSION: /etc/os-release of a Debian userland that stands in
  # for Alpine Linux (ImageVolume's [Conformance] test reads it from the kitten image)
  local d=$1 codename=$2 version=$3
  rm -f "$d/etc/os-release" "$d/usr/lib/os-release"
  cat >"$d/usr/lib/os-release" <<EOF
PRETTY_NAME="Debian GNU/Linux $version ($codename) userland with BusyBox 1.37, standing in for Alpine Linux (kube-v6 e2e image)"
NAME="Debian GNU/Linux"
VERSION_ID="$version"
VERSION_CODENAME=$codename
ID=debian
HOME_URL="https://www.debian.org/"
EOF
  ln -s ../usr/lib/os-release "$d/etc/os-release"
}
alpine_accounts() { # DIR: /etc/passwd, group, shadow of Alpine's alpine-baselayout
  local d=$1
  mkdir -p "$d/etc"
  cat >"$d/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
EOF
  cat >"$d/etc/group" <<'EOF'
root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
console:x:17:
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
EOF
  cut -d: -f1 "$d/etc/passwd" | sed 's/$/:*::0:::::/; s/^root:\*/root:*/' >"$d/etc/shadow"
  chmod 0640 "$d/etc/shadow"
  printf 'hosts: files dns\n' >"$d/etc/nsswitch.conf" # for the glibc tools; Alpine's musl has none
}
add_user() { # DIR NAME UID GID HOME SHELL [GROUP-NAME]: a user and its own group, like adduser -D
  local d=$1 name=$2 uid=$3 gid=$4 home=$5 shell=$6
  echo "$name:x:$uid:$gid:$name:$home:$shell" >>"$d/etc/passwd"
  echo "$name:x:$gid:$name" >>"$d/etc/group"
  echo "$name:!:0:0:99999:7:::" >>"$d/etc/shadow"
}

# the CA bundle and netbase's /etc files
mkdir -p "$R/debs-busybox"
unpack "$R/debs-busybox" trixie "${BB_DEBS[@]}"

# layer "alpine": the Alpine-like base (busybox userland, CA certificates, /etc/protocols,
# /etc/services, Alpine's accounts) of the images upstream bases on plain alpine
A="$R/alpine"
skeleton "$A"
busybox_applets "$A" merged
cp -a "$R/debs-busybox/etc/protocols" "$R/debs-busybox/etc/services" "$A/etc/"
mkdir -p "$A/usr/share" && cp -a "$R/debs-busybox/usr/share/ca-certificates" "$A/usr/share/"
ca_bundle "$A"
alpine_accounts "$A"
os_release "$A" trixie 13

# Alpine-like base plus Debian packages in one layer (their files replace busybox applets)
userland() { # NAME SUITE VERSION PKG=VER...: layer NAME
  local name=$1 suite=$2 version=$3 d="$R/$1"
  shift 3
  cp -a "$A" "$d"
  unpack "$d" "$suite" "$@"
  slim "$d"
  prune_busybox "$d"
  os_release "$d" "$suite" "$version"
  rm -rf "$d/etc/init.d" "$d/etc/logrotate.d" "$d/etc/ufw" "$d/usr/lib/systemd" "$d/lib/systemd" "$d/etc/systemd" "$d/etc/cron.daily"
}

# --- agnhost (test/images/agnhost/Dockerfile) -----------------------------------------------
userland agnhost-userland trixie 13 "${AGNHOST_DEBS[@]}"
u="$R/agnhost-userland"
# update-alternatives' links, which the maintainer scripts would make
ln -sf nc.openbsd "$u/usr/bin/nc"
ln -sf /usr/bin/iperf "$u/usr/local/bin/iperf" # as upstream: ln -s /usr/bin/iperf /usr/local/bin/iperf
add_user "$u" user-defined-in-image 1000 1000 /home/user-defined-in-image /bin/sh
echo "group-defined-in-image:x:50000:user-defined-in-image" >>"$u/etc/group"
mkdir -p "$u/home/user-defined-in-image"
g="$R/agnhost"
mkdir -p "$g/uploads"
install -m 0755 "$BIN/agnhost" "$g/agnhost"
ln -s agnhost "$g/agnhost-2"
install -m 0755 "$BIN/coredns" "$g/coredns" # upstream: CoreDNS 1.6.2's release binary
install -m 0644 "$K8S_DIR/test/images/agnhost/porter/localhost.crt" "$K8S_DIR/test/images/agnhost/porter/localhost.key" "$g/"
for img in kitten nautilus; do
  mkdir -p "$R/$img"
  install -m 0644 "$K8S_DIR/test/images/$img/html/$img.jpg" "$K8S_DIR/test/images/$img/html/data.json" "$R/$img/"
done

# --- nginx (the official nginx:<version>-alpine images: config, user, logs, signal) --------
nginx_userland() { # NAME SUITE VERSION WORKERS ERRLEVEL PKG=VER...
  local name=$1 suite=$2 version=$3 workers=$4 level=$5 d="$R/$1"
  shift 5
  userland "$name" "$suite" "$version" "$@"
  add_user "$d" nginx 101 101 /var/cache/nginx /sbin/nologin
  rm -rf "$d/etc/nginx/sites-available" "$d/etc/nginx/sites-enabled" "$d/etc/nginx/modules-available" \
    "$d/etc/nginx/modules-enabled" "$d/etc/nginx/snippets" "$d/etc/default" "$d/var/www"
  mkdir -p "$d/var/cache/nginx" "$d/etc/nginx/conf.d" "$d/var/log/nginx"
  ln -sf /dev/stdout "$d/var/log/nginx/access.log"
  ln -sf /dev/stderr "$d/var/log/nginx/error.log"
  cat >"$d/etc/nginx/nginx.conf" <<EOF

user  nginx;
worker_processes  $workers;

error_log  /var/log/nginx/error.log $level;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '\$remote_addr - \$remote_user [\$time_local] "\$request" '
                      '\$status \$body_bytes_sent "\$http_referer" '
                      '"\$http_user_agent" "\$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
EOF
  # the official default.conf; [::]:80 as its 10-listen-on-ipv6-by-default.sh adds it
  cat >"$d/etc/nginx/conf.d/default.conf" <<'EOF'
server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
EOF
  cat >"$d/usr/share/nginx/html/50x.html" <<'EOF'
<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
</body>
</html>
EOF
  grep -q 'Welcome to nginx!' "$d/usr/share/nginx/html/index.html" || die "$name: no nginx welcome page"
}
nginx_userland nginx bookworm 12 1 warn "${NGINX_OLD_DEBS[@]}"
nginx_userland nginx-new trixie 13 auto notice "${NGINX_NEW_DEBS[@]}"
# nginx 1.19+ images run /docker-entrypoint.sh (it runs /docker-entrypoint.d/*.sh, none here:
# the IPv6 listen is already in default.conf, and there are no templates)
mkdir -p "$R/nginx-new/docker-entrypoint.d"
install -m 0755 "$HERE/docker-entrypoint.sh" "$R/nginx-new/docker-entrypoint.sh"

# --- nonewprivs, sample-apiserver: a payload on the Alpine-like base ---------------------------
mkdir -p "$R/nonewprivs/usr/local/bin" "$R/sample-apiserver"
install -m 4755 "$GOBIN_DIR/nnp" "$R/nonewprivs/usr/local/bin/nnp" # setuid root, as chmod +s
install -m 0755 "$GOBIN_DIR/sample-apiserver" "$R/sample-apiserver/sample-apiserver"

# --- busybox (the official busybox:1.37.0 image: one /bin, buildroot's accounts) ---------------
b="$R/busybox"
mkdir -p "$b"/{etc,home,root,tmp,usr/sbin,var/spool/mail,var/www}
chmod 1777 "$b/tmp" && chmod 0700 "$b/root"
busybox_applets "$b" flat
cat >"$b/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$b/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
EOF
cut -d: -f1 "$b/etc/passwd" | sed 's/$/:*:10933:0:99999:7:::/' >"$b/etc/shadow"
chmod 0640 "$b/etc/shadow"
printf 'hosts: files dns\n' >"$b/etc/nsswitch.conf"

# --- debian:bookworm-slim (glibc-dns-testing, nonroot) ------------------------------------------
s="$R/bookworm-slim"
skeleton "$s"
unpack "$s" bookworm "${SLIM_DEBS[@]}"
slim "$s"
# what the maintainer scripts would have made: accounts (base-passwd), /bin/sh (dash),
# awk (mawk, through update-alternatives)
# (update-passwd and shadowconfig: passwords move to /etc/shadow, 'x' in their place)
sed 's/^\([^:]*\):\*:/\1:x:/' "$s/usr/share/base-passwd/passwd.master" >"$s/etc/passwd"
sed 's/^\([^:]*\):\*:/\1:x:/' "$s/usr/share/base-passwd/group.master" >"$s/etc/group"
cut -d: -f1 "$s/etc/passwd" | sed 's/$/:*:19000:0:99999:7:::/' >"$s/etc/shadow"
cut -d: -f1 "$s/etc/group" | sed 's/$/:*::/' >"$s/etc/gshadow"
chmod 0640 "$s/etc/shadow" "$s/etc/gshadow"
[[ -e "$s/usr/bin/sh" ]] || ln -s dash "$s/usr/bin/sh"
[[ -e "$s/usr/bin/awk" ]] || ln -s mawk "$s/usr/bin/awk"
rm -rf "$s/etc/init.d" "$s/etc/cron.daily" "$s/etc/systemd" "$s/usr/lib/systemd"
d="$R/dnsutils"
mkdir -p "$d"
cp -a "$s" "$R/slim-with-dnsutils"
unpack "$R/slim-with-dnsutils" bookworm "${DNSUTILS_DEBS[@]}"
slim "$R/slim-with-dnsutils"
# the dnsutils layer holds what the install added (as the Dockerfile's RUN layer does)
(cd "$R/slim-with-dnsutils" && find . \( -type f -o -type l \) -print0 | while IFS= read -r -d '' f; do
  [[ -e "$s/$f" || -L "$s/$f" ]] || { mkdir -p "$d/$(dirname "$f")" && cp -a "$f" "$d/$f"; }
done)
mkdir -p "$R/glibc-coredns" && install -m 0755 "$BIN/coredns" "$R/glibc-coredns/coredns" # upstream: CoreDNS 1.5.0's

# --- images -------------------------------------------------------------------------------
PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
: >"$E2E_OUT/LIST.tmp"
image() { # NAME VERSION-LABEL LAYER... [-- imagebuilder flags]
  local name=$1 version=$2 layers=() extra=() digest
  shift 2
  while (($#)); do
    if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
    layers+=(-layer "$R/$1"); shift
  done
  digest="$("$IB" -out "$E2E_OUT/$name.tar" -ref "${REFS[$name]}" "${layers[@]}" -created "$CREATED" \
    -platform linux/amd64 -env "$PATH_ENV" -label "org.opencontainers.image.title=$name" \
    -label "org.opencontainers.image.version=$version" -label "dev.kubev6.built-by=artifacts/e2e-images/build.sh" \
    "${extra[@]}" | awk '{print $3}')"
  echo "$digest" >"$E2E_OUT/$name.digest"
  echo "${REFS[$name]} $name.tar" >>"$E2E_OUT/LIST.tmp"
  say "$name: ${REFS[$name]} $(du -h "$E2E_OUT/$name.tar" | cut -f1) $digest"
}
AGNHOST_FLAGS=(-entrypoint '["/agnhost"]' -cmd '["pause"]' -chown 1000:1000:/home/user-defined-in-image
  -expose 80 -expose 8080 -expose 8081 -expose 9376 -expose 5000)
image agnhost "$AGNHOST_VERSION" agnhost-userland agnhost -- "${AGNHOST_FLAGS[@]}"
# AgnhostPrev: the suite only needs a second, different agnhost (rolling updates, kubectl diff);
# the same binary with its own config, so containerd sees another image ID.
image agnhost-prev "${REFS[agnhost-prev]##*:} (agnhost $AGNHOST_VERSION binary)" agnhost-userland agnhost -- "${AGNHOST_FLAGS[@]}"
for img in kitten nautilus; do
  image "$img" "${REFS[$img]##*:}" agnhost-userland agnhost "$img" -- "${AGNHOST_FLAGS[@]/pause/test-webserver}"
done
deb_of() { local p; for p in "${@:2}"; do [[ $p == "$1="* ]] && echo "Debian $p"; done; }
image nginx "${REFS[nginx]##*:} ($(deb_of nginx "${NGINX_OLD_DEBS[@]}"))" nginx -- -cmd '["nginx","-g","daemon off;"]' \
  -expose 80 -stop-signal SIGTERM
image nginx-new "${REFS[nginx-new]##*:} ($(deb_of nginx "${NGINX_NEW_DEBS[@]}"))" nginx-new -- -entrypoint '["/docker-entrypoint.sh"]' \
  -cmd '["nginx","-g","daemon off;"]' -expose 80 -stop-signal SIGQUIT
image busybox "${REFS[busybox]##*:}" busybox -- -cmd '["sh"]'
image nonewprivs "${REFS[nonewprivs]##*:}" alpine nonewprivs -- -cmd '["nnp"]'
image sample-apiserver "$(mod_version "$HERE/sample-apiserver" k8s.io/sample-apiserver)" alpine sample-apiserver -- \
  -entrypoint '["/sample-apiserver"]'
image glibc-dns-testing "${REFS[glibc-dns-testing]##*:}" bookworm-slim dnsutils glibc-coredns -- -cmd '["bash"]'
image nonroot "${REFS[nonroot]##*:}" bookworm-slim -- -cmd '["/bin/sh"]' -user 1234
sort "$E2E_OUT/LIST.tmp" >"$E2E_OUT/LIST" && rm -f "$E2E_OUT/LIST.tmp"

# --- record ---------------------------------------------------------------------------------
{
  echo "# artifacts/e2e-images/build.sh; $(date -u +%FT%TZ); go $(go env GOVERSION)"
  echo "module k8s.io/kubernetes (test/images, manifest.go) $(basename "$K8S_DIR" | sed 's/.*@//')"
  echo "module k8s.io/kubernetes/test/images/agnhost $AGNHOST_VERSION (binary $BIN/agnhost)"
  echo "module k8s.io/kubernetes/test/images/nonewprivs (nnp) $(mod_version "$ROOT/artifacts/kubernetes" k8s.io/kubernetes)"
  echo "module k8s.io/sample-apiserver $(mod_version "$HERE/sample-apiserver" k8s.io/sample-apiserver)"
  echo "coredns (in agnhost and glibc-dns-testing) $("$BIN/coredns" -version 2>/dev/null | head -1)"
  sort -u "$VERSIONS_TMP"
  while read -r ref file; do
    echo "image $ref $file $(du -k "$E2E_OUT/$file" | cut -f1) KiB $(cat "$E2E_OUT/${file%.tar}.digest")"
  done <"$E2E_OUT/LIST"
} >"$E2E_OUT/VERSIONS"
echo "$KEY" >"$E2E_OUT/.key"
say "built ${#REFS[@]} images in $E2E_OUT: $(($(date +%s) - T0)) s"
