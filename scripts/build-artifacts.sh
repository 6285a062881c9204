#!/usr/bin/env bash
# Builds the air-gapped Kubernetes artifacts from Go modules, C source and Debian packages
# only (nothing from dl.k8s.io, registry.k8s.io, Docker Hub or GitHub releases):
#   bin/     kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler
#            kube-proxy (k8s.io/kubernetes), etcd etcdctl etcdutl, coredns, pause, agnhost,
#            busybox
#   images/  docker archives for `ctr -n k8s.io images import`: the images kubeadm expects
#            (`kubeadm config images list`), kube-proxy with iptables/nft/conntrack, and the
#            test workloads' agnhost and busybox
#   VERSIONS what was actually used (module versions, refused ones, Debian packages, digests)
# under ${KUBEV6_ARTIFACTS:-/var/cache/kube-v6/artifacts}/v<kubernetes version>/.
#
# Versions come from artifacts/versions.env (the one place; the Python code reads it too).
# The Go wrapper modules in artifacts/ pin every dependency (go.mod + go.sum).
# Each phase is stamped with a key of its inputs: a second run takes seconds.
# Compilers run under `nice -n ${KUBEV6_NICE:-19}`. `--rebuild` ignores the stamps.
# `--sync-only` only brings the wrapper modules' go.mod/go.sum in line with versions.env
# (after a version move; commit them), with the proxy's refusals handled as below.
# `--set=upgrade-from` builds the release a cluster is upgraded from (artifacts/upgrade-from/:
# its versions.env overrides the Kubernetes-versioned keys, its wrapper modules build them) into
# its own folder; the runtime, the registry and the workloads' images come from the main set,
# which must be built first. No conformance suite for it.
set -euo pipefail
# bash reads a script while it runs it: run a private copy, so that editing (or checking out) this
# file during a build that takes tens of minutes cannot change what the build does.
if [[ -z "${KUBEV6_BUILD_ROOT:-}" ]]; then
  copy="$(mktemp /tmp/kubev6-build-artifacts.XXXXXX)"
  cp "$0" "$copy"
  KUBEV6_BUILD_ROOT="$(cd "$(dirname "$0")/.." && pwd)" exec bash "$copy" "$@"
fi
[[ "$0" != /tmp/kubev6-build-artifacts.* ]] || rm -f "$0" # bash keeps its own descriptor open
ROOT="$KUBEV6_BUILD_ROOT"
cd "$ROOT"
SCRIPT_SHA="$(sha256sum "$ROOT/scripts/build-artifacts.sh" | cut -c1-16)"

REBUILD=0
SYNC_ONLY=0
SET=""
for arg in "$@"; do
  case "$arg" in
    --set=upgrade-from) SET=${arg#--set=} ;;
    --rebuild) REBUILD=1 ;;
    --sync-only) SYNC_ONLY=1 ;;
    -h | --help) sed -n '2,23p' "$ROOT/scripts/build-artifacts.sh"; exit 0 ;;
    *) echo "build-artifacts: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# shellcheck source=/dev/null
source artifacts/versions.env
MAIN_K8S="v${KUBERNETES_VERSION}"
W=artifacts # the wrapper modules of the Kubernetes-versioned parts (kubernetes, etcd, coredns)
if [[ -n $SET ]]; then
  # shellcheck source=/dev/null
  source "artifacts/$SET/versions.env"
  W="artifacts/$SET"
fi
WC=artifacts # the containerd wrapper: a set's own where it has one
[[ -z $SET || ! -f "$W/containerd/go.mod" ]] || WC="$W"
K8S="v${KUBERNETES_VERSION}"
IFS=. read -r K8S_MAJOR K8S_MINOR K8S_PATCH <<<"$KUBERNETES_VERSION"
STAGING="v0.${K8S_MINOR}.${K8S_PATCH}"
ETCD_TAG="${ETCD_VERSION}-${ETCD_IMAGE_REVISION}"

CACHE="${KUBEV6_ARTIFACTS:-/var/cache/kube-v6/artifacts}"
OUT="$CACHE/$K8S"
MAIN_OUT="$CACHE/$MAIN_K8S"
BIN="$OUT/bin"
IMAGES="$OUT/images"
WORK="$OUT/work"
STAMPS="$OUT/.stamps"
mkdir -p "$BIN" "$IMAGES" "$WORK" "$STAMPS"
# One build at a time per cache (several clones and worktrees share it): a second waits here.
exec 8>"$CACHE/.build.lock"
if ! flock -n 8; then
  echo "build-artifacts: another build holds $CACHE/.build.lock; waiting" >&2
  flock 8
fi
NICE=(nice -n "${KUBEV6_NICE:-19}")

T0=$(date +%s)
say() { echo "build-artifacts: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -c1-32; }
key_of() { printf '%s\n' "$@" | sha256sum | cut -c1-32; }
fresh() { # fresh PHASE KEY OUTPUT...: the stamp matches and every output exists
  local phase=$1 key=$2 f
  shift 2
  ((REBUILD)) && return 1
  [[ "$(cat "$STAMPS/$phase" 2>/dev/null)" == "$key" ]] || return 1
  for f in "$@"; do [[ -e "$f" ]] || return 1; done
}
stamp() { echo "$2" >"$STAMPS/$1"; }
from_main() { # PHASE FILE...: --set takes these from the main set (they do not depend on Kubernetes)
  local phase=$1 f rel
  shift
  for f; do
    rel="${f#"$OUT/"}"
    [[ -e "$MAIN_OUT/$rel" ]] || die "--set=$SET needs the main set first (bash scripts/build-artifacts.sh): no $MAIN_OUT/$rel"
    mkdir -p "$(dirname "$f")" && cp -p "$MAIN_OUT/$rel" "$f"
  done
  end "$phase" "cached: the main set's ($MAIN_K8S)"
}
deb_versions() { dpkg-query -W -f='${Package}=${Version}\n' "$@"; }
PHASE_START=0
# Progress: a phase that runs longer than a minute says so every minute, with what it took when
# it last ran here (or a cold figure of this 2-core machine), and how much is left in all.
PHASES=(packages:5 modules:60 kubernetes:400 agnhost:10 etcd:30 coredns:230 runtime:120 registry:110
  e2e:400 pause:2 busybox:2 imagebuilder:5 images:20 e2e-images:260 network-addons:330 registry-content:10 verify:1)
expected() { # PHASE: seconds it took when last built here, else the cold figure above
  local p
  if [[ -s "$STAMPS/$1.seconds" ]]; then cat "$STAMPS/$1.seconds"; return; fi
  for p in "${PHASES[@]}"; do [[ ${p%%:*} != "$1" ]] || { echo "${p#*:}"; return; }; done
  echo 60
}
left_after() { # PHASE: expected seconds of the phases after it, if they all build
  local p seen=0 sum=0
  for p in "${PHASES[@]}"; do
    ((seen)) && sum=$((sum + $(expected "${p%%:*}")))
    [[ ${p%%:*} != "$1" ]] || seen=1
  done
  echo "$sum"
}
TICKER=""
begin() {
  PHASE_START=$(date +%s) PHASE=$1
  stop_ticker
  local want after
  want=$(expected "$1") after=$(left_after "$1")
  (while sleep 60 && kill -0 $$ 2>/dev/null; do
    say "phase $1: still running, $(($(date +%s) - PHASE_START)) s so far (about $want s when built last; about $after s of later phases if they must build)"
  done) &
  TICKER=$!
}
end() {
  local took=$(($(date +%s) - PHASE_START))
  [[ -z $TICKER ]] || { kill "$TICKER" 2>/dev/null || true; wait "$TICKER" 2>/dev/null || true; TICKER=""; }
  [[ $2 == cached* ]] || echo "$took" >"$STAMPS/$1.seconds"
  say "phase $1: $took s ($2); $(($(date +%s) - T0)) s in all"
}
stop_ticker() { [[ -z $TICKER ]] || kill "$TICKER" 2>/dev/null || true; }
trap stop_ticker EXIT

# --- phase: packages (Debian; idempotent like scripts/install-deps.sh) --------------------
begin packages
DEBS=(gcc libc6-dev binutils iptables nftables conntrack ca-certificates netbase libseccomp-dev pkg-config)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
end packages "${#missing[@]} installed"

# --- Go ------------------------------------------------------------------------------------
[[ -x /usr/local/go/bin/go ]] && PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "no Go toolchain on PATH (Go 1.26 or newer, e.g. in /usr/local/go)"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-buildvcs=false
GO_VERSION="$(go env GOVERSION)"
GCC_VERSION="$(gcc -dumpfullversion)"
GOBUILD=(go build -trimpath)
K8S_TAGS="selinux,notest,grpcnotrace"

# --- phase: modules (the wrapper modules follow versions.env) ---------------------------
# The proxy refuses some module versions (403 "This module version is not available"):
# a refused etcd or CoreDNS version falls back to the nearest version the proxy serves (for
# etcd: one version served for all its modules), recorded in REFUSED and VERSIONS and left
# in the wrapper's go.mod. Kubernetes itself must be served as configured: the cluster
# config's kubernetes.version names it. Fallbacks are remembered in RESOLVED so a later run
# does not ask the proxy again.
REFUSED="$OUT/REFUSED"
RESOLVED="$OUT/RESOLVED"
touch "$REFUSED" "$RESOLVED"
required() { # DIR MODULE: the version DIR's go.mod requires
  awk -v m="$2" '$0 !~ /=>/ && (($1 == m && NF >= 2) || ($1 == "require" && $2 == m)) {print ($1 == m ? $2 : $3); exit}' "$1/go.mod"
}
served() { go mod download -json "$1@$2" >/dev/null 2>&1; }
refused() { echo "$(date -u +%FT%TZ) $*" >>"$REFUSED"; }
candidates() { # MODULE WANTED: WANTED, then up to 8 others of the same major, the nearest first
  # (a newer before an older): the proxy's version list, which leaves out some served
  # versions, and the neighbouring patch releases.
  local mod=$1 want=$2 p i
  echo "$want"
  IFS=. read -r _ _ p <<<"${want#v}"
  { cd /tmp && go list -m -versions "$mod" | tr ' ' '\n' | tail -n +2 | grep -v -- -
    for ((i = p > 3 ? p - 3 : 0; i <= p + 3; i++)); do echo "${want%.*}.$i"; done; } | sort -u | grep -vxF "$want" |
    awk -v w="${want#v}" 'BEGIN {split(w, a, ".")}
      {split(substr($0, 2), b, "."); if (b[1] != a[1]) next
       d = (b[2] - a[2]) * 1000 + (b[3] - a[3]); if (d < 0) d = -d * 2 + 1; else d = d * 2
       print d, $0}' | sort -n | head -8 | cut -d' ' -f2
}
sync_modules() { # DIR FALLBACK(yes/no) WANTED MODULE...: require one version for all MODULEs
  local dir=$1 fallback=$2 want=$3 v m ok=no at before label
  shift 3
  label=$1
  (($# > 1)) && label+=" and its $(($# - 1)) sibling modules"
  at="$(awk -v d="$dir" -v w="$want" '$1 == d && $2 == w {print $3}' "$RESOLVED" | tail -1)"
  for v in "$want" ${at:+"$at"}; do
    ok=yes
    for m; do [[ "$(required "$dir" "$m")" == "$v" ]] || ok=no; done
    [[ $ok == yes ]] && return 0
  done
  for v in $(candidates "$1" "$want"); do
    ok=yes
    for m; do served "$m" "$v" || { refused "$m@$v refused by the module proxy (wanted $want)"; ok=no; break; }; done
    [[ $ok == yes ]] && break
    [[ $fallback == yes ]] || die "$m@$v is not served by the module proxy; it lists: $(cd /tmp && go list -m -versions "$m" | cut -d' ' -f2- | tr ' ' '\n' | tail -6 | xargs)"
  done
  [[ $ok == yes ]] || die "no version near $want is served for all of $*"
  if [[ $v != "$want" ]]; then
    say "WARNING: $label $want refused by the module proxy; using $v (recorded in $REFUSED)"
    refused "$label: $want -> using $v"
    echo "$dir $want $v" >>"$RESOLVED"
  fi
  before="$(hash_of "$dir/go.mod")"
  for m; do (cd "$dir" && go mod edit -require="$m@$v"); done
  [[ "$(hash_of "$dir/go.mod")" == "$before" ]] || SYNCED+=("$dir")
}
begin modules
SYNCED=()
staging_replaces() { # DIR: repeat k8s.io/kubernetes' own staging replaces with the published v0.MINOR.PATCH
  local dir=$1 gomod m
  grep -q "=> k8s.io/apimachinery $STAGING\$" "$dir/go.mod" && return 0
  gomod="$(cd /tmp && go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  for m in $(awk '$2 == "=>" {print $1}' "$dir/go.mod"); do
    (cd "$dir" && go mod edit -dropreplace="$m")
  done
  for m in $(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "$gomod"); do
    (cd "$dir" && go mod edit -replace="$m=$m@$STAGING")
  done
  SYNCED+=("$dir")
}
e2e_imports() { # the packages the suite's e2e_test.go imports, for artifacts/e2e/imports.go
  local dir
  dir="$(cd /tmp && go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  sed -n '1,/^import (/p' artifacts/e2e/imports.go
  { echo '"k8s.io/kubernetes/test/e2e"'
    sed -n '/^import (/,/^)/p' "$dir/test/e2e/e2e_test.go" | grep -v '^\s*//' | grep -oE '"[^"]+"'; } |
    grep -vE '^"(flag|fmt|os|path/filepath|testing)"$' | sort -u | sed 's/^/\t_ /'
  echo ")"
}
sync_modules $W/kubernetes no "$K8S" k8s.io/kubernetes
staging_replaces $W/kubernetes
if [[ -z $SET ]]; then
# The e2e suite and ginkgo: the same Kubernetes, and the ginkgo its go.mod requires.
sync_modules artifacts/e2e no "$K8S" k8s.io/kubernetes
staging_replaces artifacts/e2e
if [[ "$(e2e_imports)" != "$(cat artifacts/e2e/imports.go)" ]]; then
  e2e_imports >artifacts/e2e/imports.go.new && mv artifacts/e2e/imports.go.new artifacts/e2e/imports.go
  SYNCED+=(artifacts/e2e)
fi
GINKGO_VERSION="$(cd /tmp && go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p' |
  xargs awk '$1 == "github.com/onsi/ginkgo/v2" {print $2; exit}')"
sync_modules artifacts/e2e no "$GINKGO_VERSION" github.com/onsi/ginkgo/v2
sync_modules artifacts/runc no "v$RUNC_VERSION" github.com/opencontainers/runc
sync_modules artifacts/registry no "v$DISTRIBUTION_VERSION" github.com/distribution/distribution/v3
fi
sync_modules $W/etcd yes "v$ETCD_VERSION" \
  go.etcd.io/etcd/{server/v3,etcdctl/v3,etcdutl/v3,api/v3,client/pkg/v3,client/v3,pkg/v3}
sync_modules $W/coredns yes "v$COREDNS_VERSION" github.com/coredns/coredns
sync_modules $WC/containerd no "v$CONTAINERD_VERSION" github.com/containerd/containerd/v2
mapfile -t SYNCED < <(printf '%s\n' "${SYNCED[@]}" | sort -u | grep .)
for dir in "${SYNCED[@]}"; do
  say "tidying $dir (versions changed)"
  (cd "$dir" && "${NICE[@]}" go mod tidy)
done
end modules "${#SYNCED[@]} wrapper modules changed"
if ((SYNC_ONLY)); then
  for w in kubernetes:k8s.io/kubernetes e2e:github.com/onsi/ginkgo/v2 etcd:go.etcd.io/etcd/server/v3 \
    coredns:github.com/coredns/coredns containerd:github.com/containerd/containerd/v2 \
    runc:github.com/opencontainers/runc registry:github.com/distribution/distribution/v3; do
    d="artifacts/${w%%:*}"
    case ${w%%:*} in kubernetes | etcd | coredns) d="$W/${w%%:*}" ;; containerd) d="$WC/containerd" ;;
      *) [[ -z $SET ]] || continue ;; esac
    say "$d: ${w#*:} $(required "$d" "${w#*:}")"
  done
  [[ -s "$REFUSED" ]] && say "refused by the module proxy:" && sed 's/^/  /' "$REFUSED" >&2
  exit 0
fi

used() { (cd "$1" && go list -m -f '{{.Version}}{{with .Replace}} => {{.Version}}{{end}}' "$2"); }
origin_hash() { # DIR MODULE: the commit the module proxy names as the module's origin
  local version
  version="$(used "$1" "$2" | sed 's/.* => //')"
  (cd "$1" && go mod download -json "$2@$version") | sed -n 's/^\t\t"Hash": "\(.*\)",*$/\1/p'
}

# --- phase: kubernetes (one `go build` for the seven binaries) ----------------------------
K8S_CMDS=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
begin kubernetes
k8s_key="$(key_of "$GO_VERSION" "$K8S_TAGS" "$(hash_of $W/kubernetes/go.mod $W/kubernetes/go.sum)" 2)"
if fresh kubernetes "$k8s_key" "${K8S_CMDS[@]/#/$BIN/}"; then
  end kubernetes cached
else
  commit="$(origin_hash $W/kubernetes k8s.io/kubernetes)"
  created="$(cd $W/kubernetes && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
  LD="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD+=" -X $p.gitVersion=$K8S -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
    LD+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$created"
  done
  say "building ${K8S_CMDS[*]} $K8S (tens of minutes cold on 2 cores)"
  (cd $W/kubernetes && "${NICE[@]}" "${GOBUILD[@]}" -tags "$K8S_TAGS" -ldflags "$LD" -o "$BIN/" \
    "${K8S_CMDS[@]/#/k8s.io/kubernetes/cmd/}")
  [[ "$("$BIN/kubeadm" version -o short)" == "$K8S" ]] || die "kubeadm says $("$BIN/kubeadm" version -o short), not $K8S"
  stamp kubernetes "$k8s_key"
  end kubernetes built
fi

# --- phase: agnhost (the echo server of the test workloads, same module) ------------------
begin agnhost
K8S_DIR="$(cd $W/kubernetes && go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$K8S_DIR" ]] || die "k8s.io/kubernetes@$K8S is not in the module cache"
AGNHOST_VERSION="$(cat "$K8S_DIR/test/images/agnhost/VERSION")"
if [[ -n $SET ]]; then
  end agnhost "cached: not built (the workloads' images are the main set's)"
elif fresh agnhost "$k8s_key" "$BIN/agnhost"; then
  end agnhost cached
else
  (cd $W/kubernetes && "${NICE[@]}" "${GOBUILD[@]}" -tags "$K8S_TAGS" -ldflags "-s -w" -o "$BIN/" \
    k8s.io/kubernetes/test/images/agnhost)
  stamp agnhost "$k8s_key"
  end agnhost built
fi

# --- phase: etcd ---------------------------------------------------------------------------
begin etcd
etcd_key="$(key_of "$GO_VERSION" "$(hash_of $W/etcd/go.mod $W/etcd/go.sum)" 1)"
if fresh etcd "$etcd_key" "$BIN/etcd" "$BIN/etcdctl" "$BIN/etcdutl"; then
  end etcd cached
else
  sha="$(origin_hash $W/etcd go.etcd.io/etcd/server/v3)"
  rm -rf "$WORK/etcd" && mkdir -p "$WORK/etcd"
  (cd $W/etcd && "${NICE[@]}" "${GOBUILD[@]}" -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${sha:0:8}" \
    -o "$WORK/etcd/" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3)
  mv "$WORK/etcd/server" "$BIN/etcd" # the server module's main package is named after its directory
  mv "$WORK/etcd/etcdctl" "$WORK/etcd/etcdutl" "$BIN/"
  stamp etcd "$etcd_key"
  end etcd built
fi

# --- phase: coredns ------------------------------------------------------------------------
begin coredns
coredns_key="$(key_of "$GO_VERSION" "$(hash_of $W/coredns/go.mod $W/coredns/go.sum)" 1)"
if fresh coredns "$coredns_key" "$BIN/coredns"; then
  end coredns cached
else
  sha="$(origin_hash $W/coredns github.com/coredns/coredns)"
  (cd $W/coredns && "${NICE[@]}" "${GOBUILD[@]}" \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${sha:0:7}" -o "$BIN/coredns" github.com/coredns/coredns)
  stamp coredns "$coredns_key"
  end coredns built
fi

# --- phase: runtime (containerd 2, its runc shim and ctr; runc with cgo + libseccomp) --------
begin runtime
ctd_key="$(key_of "$GO_VERSION" "$(hash_of $WC/containerd/go.mod $WC/containerd/go.sum)" 1)"
runc_key="$(key_of "$GO_VERSION" "$GCC_VERSION" "$(deb_versions libseccomp-dev)" "$(hash_of artifacts/runc/go.mod artifacts/runc/go.sum)" 1)"
RUNTIME_BINS=("$BIN/containerd" "$BIN/containerd-shim-runc-v2" "$BIN/ctr" "$BIN/runc")
if [[ -n $SET && $WC == artifacts ]]; then
  from_main runtime "${RUNTIME_BINS[@]}" "$OUT/RUNTIME"
else
if fresh containerd "$ctd_key" "$BIN/containerd" "$BIN/containerd-shim-runc-v2" "$BIN/ctr"; then
  ctd_done=cached
else
  sha="$(origin_hash $WC/containerd github.com/containerd/containerd/v2)"
  p=github.com/containerd/containerd/v2
  (cd $WC/containerd && "${NICE[@]}" "${GOBUILD[@]}" -tags urfave_cli_no_docs \
    -ldflags "-s -w -X $p/version.Version=v$CONTAINERD_VERSION -X $p/version.Revision=$sha -X $p/version.Package=$p" \
    -o "$BIN/" $p/cmd/containerd $p/cmd/containerd-shim-runc-v2 $p/cmd/ctr)
  [[ "$("$BIN/containerd" --version | cut -d' ' -f3)" == "v$CONTAINERD_VERSION" ]] || die "containerd says $("$BIN/containerd" --version)"
  stamp containerd "$ctd_key"
  ctd_done=built
fi
if [[ -n $SET ]]; then
  cp -p "$MAIN_OUT/bin/runc" "$BIN/runc" # runc does not depend on the Kubernetes version
  runc_done="the main set's"
elif fresh runc "$runc_key" "$BIN/runc"; then
  runc_done=cached
else
  sha="$(origin_hash artifacts/runc github.com/opencontainers/runc)"
  # cgo for nsenter and libseccomp; static, like runc's release binaries (`make static`).
  (cd artifacts/runc && CGO_ENABLED=1 "${NICE[@]}" "${GOBUILD[@]}" -tags "seccomp urfave_cli_no_docs netgo osusergo" \
    -ldflags "-s -w -X main.version=$RUNC_VERSION -X main.gitCommit=$sha -extldflags -static" \
    -o "$BIN/runc" github.com/opencontainers/runc)
  [[ "$("$BIN/runc" --version | head -1)" == "runc version $RUNC_VERSION" ]] || die "runc says $("$BIN/runc" --version | head -1)"
  "$BIN/runc" --version | grep -q '^libseccomp: ' || die "runc was built without libseccomp"
  stamp runc "$runc_key"
  runc_done=built
fi
printf 'containerd %s\nrunc %s\n' "$CONTAINERD_VERSION" "$RUNC_VERSION" >"$OUT/RUNTIME"
end runtime "containerd $CONTAINERD_VERSION $ctd_done, runc $RUNC_VERSION $runc_done"
fi

# --- phase: registry (the gateway's OCI registry; crane fills it below) --------------------
begin registry
registry_key="$(key_of "$GO_VERSION" "$(hash_of artifacts/registry/go.mod artifacts/registry/go.sum)" 1)"
CRANE="$WORK/crane"
if [[ -n $SET ]]; then
  from_main registry "$BIN/registry" "$CRANE"
elif fresh registry "$registry_key" "$BIN/registry" "$CRANE"; then
  end registry cached
else
  p=github.com/distribution/distribution/v3
  (cd artifacts/registry && "${NICE[@]}" "${GOBUILD[@]}" -ldflags "-s -w -X $p/version.version=v$DISTRIBUTION_VERSION" \
    -o "$BIN/registry" $p/cmd/registry &&
    "${NICE[@]}" "${GOBUILD[@]}" -ldflags "-s -w" -o "$CRANE" github.com/google/go-containerregistry/cmd/crane)
  stamp registry "$registry_key"
  end registry built
fi

# --- phase: e2e (the conformance suite's e2e.test and ginkgo, from the same Kubernetes) ----
begin e2e
TEST="$OUT/test"
mkdir -p "$TEST"
e2e_key="$(key_of "$GO_VERSION" "$(hash_of artifacts/e2e/go.mod artifacts/e2e/go.sum artifacts/e2e/imports.go)" 1)"
if [[ -n $SET ]]; then
  end e2e "cached: not built (no conformance suite for --set)"
elif fresh e2e "$e2e_key" "$TEST/e2e.test" "$TEST/ginkgo"; then
  end e2e cached
else
  LD="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD+=" -X $p.gitVersion=$K8S -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR -X $p.gitTreeState=clean"
  done
  say "building e2e.test and ginkgo $K8S (minutes on 2 cores)"
  (cd artifacts/e2e && "${NICE[@]}" go test -c -trimpath -ldflags "$LD" -o "$TEST/e2e.test" k8s.io/kubernetes/test/e2e &&
    "${NICE[@]}" "${GOBUILD[@]}" -ldflags "-s -w" -o "$TEST/ginkgo" github.com/onsi/ginkgo/v2/ginkgo)
  "$TEST/e2e.test" --version | grep -qF "$K8S" || die "e2e.test says $("$TEST/e2e.test" --version)"
  stamp e2e "$e2e_key"
  end e2e built
fi

# --- phase: pause (C, static) --------------------------------------------------------------
begin pause
pause_c="$K8S_DIR/build/pause/linux/pause.c"
pause_key="$(key_of "$(hash_of "$pause_c")" "$GCC_VERSION" "$PAUSE_VERSION")"
if fresh pause "$pause_key" "$BIN/pause"; then
  end pause cached
else
  "${NICE[@]}" gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$BIN/pause" "$pause_c"
  strip "$BIN/pause"
  "$BIN/pause" -v | grep -q "v$PAUSE_VERSION" || die "pause -v does not say v$PAUSE_VERSION"
  stamp pause "$pause_key"
  end pause built
fi

# --- phase: busybox (Debian's busybox-static, downloaded, not installed) -------------------
begin busybox
BUSYBOX_DEB_VERSION="$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')"
[[ -n "$BUSYBOX_DEB_VERSION" && "$BUSYBOX_DEB_VERSION" != "(none)" ]] || { apt-get update -qq; BUSYBOX_DEB_VERSION="$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')"; }
BUSYBOX_VERSION="$(sed 's/^[0-9]*://; s/-.*//' <<<"$BUSYBOX_DEB_VERSION")"
if [[ -n $SET ]]; then
  from_main busybox "$BIN/busybox"
elif fresh busybox "$BUSYBOX_DEB_VERSION" "$BIN/busybox"; then
  end busybox cached
else
  rm -rf "$WORK/busybox" && mkdir -p "$WORK/busybox"
  if id _apt >/dev/null 2>&1; then chown _apt "$WORK/busybox"; fi # apt's download sandbox user
  (cd "$WORK/busybox" && apt-get download -q "busybox-static=$BUSYBOX_DEB_VERSION" >/dev/null &&
    dpkg-deb -x busybox-static_*.deb root)
  install -m 0755 "$WORK/busybox/root/bin/busybox" "$BIN/busybox"
  stamp busybox "$BUSYBOX_DEB_VERSION"
  end busybox built
fi

# --- phase: imagebuilder (go-containerregistry as a library) -------------------------------
begin imagebuilder
ib_key="$(key_of "$GO_VERSION" "$(hash_of artifacts/imagebuilder/go.mod artifacts/imagebuilder/go.sum artifacts/imagebuilder/main.go)")"
IB="$WORK/imagebuilder"
if [[ -n $SET ]]; then
  from_main imagebuilder "$IB"
elif fresh imagebuilder "$ib_key" "$IB"; then
  end imagebuilder cached
else
  (cd artifacts/imagebuilder && "${NICE[@]}" "${GOBUILD[@]}" -o "$IB" .)
  stamp imagebuilder "$ib_key"
  end imagebuilder built
fi

# --- phase: images -------------------------------------------------------------------------
# Layers: base (passwd, group, nsswitch, CA certificates, protocols, services, /tmp), then the
# payload. kubeadm's static pods run `command[0]` by name (kube-apiserver, etcd, ...) from
# PATH; kube-proxy's DaemonSet runs /usr/local/bin/kube-proxy; CoreDNS relies on the image's
# entrypoint /coredns; containerd runs the sandbox image's entrypoint /pause.
base_layer() { # DIR: what a static Go binary reads from /etc, and a writable /tmp
  local b=$1
  mkdir -p "$b/etc/ssl/certs" "$b/tmp" "$b/root" "$b/run" "$b/var"
  ln -s ../run "$b/var/run"
  chmod 1777 "$b/tmp" && chmod 0700 "$b/root"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$b/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$b/etc/group"
  printf 'hosts: files dns\n' >"$b/etc/nsswitch.conf"
  cp /etc/ssl/certs/ca-certificates.crt "$b/etc/ssl/certs/"
  cp /etc/protocols /etc/services "$b/etc/"
}
NETFILTER_DEBS=(iptables nftables conntrack libc6 libxtables12 libnftables1 libnftnl11 libmnl0 libnetfilter-conntrack3)
begin images
# The network add-ons (phase network-addons) are not in any image of these phases.
NETWORK_ADDON_BINS=(kube-network-policies kubev6-bgp)
bins_sha="$(for f in "$BIN"/*; do [[ " ${NETWORK_ADDON_BINS[*]} " == *" ${f##*/} "* ]] || echo "$f"; done |
  xargs stat -c '%n %s %Y' | sha256sum | cut -c1-32)"
images_key="$(key_of "$SCRIPT_SHA" "$ib_key" "$bins_sha" "$(deb_versions "${NETFILTER_DEBS[@]}" ca-certificates netbase)" "$AGNHOST_VERSION" "$BUSYBOX_VERSION")"
PATH_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CREATED="$(cd $W/kubernetes && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
declare -A IMAGE_REFS=(
  [kube-apiserver]="registry.k8s.io/kube-apiserver:$K8S"
  [kube-controller-manager]="registry.k8s.io/kube-controller-manager:$K8S"
  [kube-scheduler]="registry.k8s.io/kube-scheduler:$K8S"
  [kube-proxy]="registry.k8s.io/kube-proxy:$K8S"
  [etcd]="registry.k8s.io/etcd:$ETCD_TAG"
  [coredns]="registry.k8s.io/coredns/coredns:v$COREDNS_VERSION"
  [pause]="registry.k8s.io/pause:$PAUSE_VERSION"
  [agnhost]="registry.k8s.io/e2e-test-images/agnhost:$AGNHOST_VERSION"
  [busybox]="docker.io/library/busybox:$BUSYBOX_VERSION"
)
WORKLOAD_IMAGES=(agnhost busybox)
if [[ -n $SET ]]; then # the main set's archives, copied after this phase
  for image in "${WORKLOAD_IMAGES[@]}"; do unset "IMAGE_REFS[$image]"; done
fi
IMAGE_FILES=()
for image in "${!IMAGE_REFS[@]}"; do IMAGE_FILES+=("$IMAGES/$image.tar" "$IMAGES/$image.digest"); done
if fresh images "$images_key" "${IMAGE_FILES[@]}"; then
  end images cached
else
  R="$WORK/rootfs"
  rm -rf "$R" && mkdir -p "$R"
  base_layer "$R/base"
  one() { # one NAME DEST-IN-IMAGE: a layer holding one binary
    mkdir -p "$R/$1$(dirname "$2")" && cp "$BIN/$1" "$R/$1$2"
  }
  for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do one "$c" "/usr/local/bin/$c"; done
  for c in etcd etcdctl etcdutl; do mkdir -p "$R/etcd/usr/local/bin" && cp "$BIN/$c" "$R/etcd/usr/local/bin/"; done
  one coredns /coredns
  mkdir -p "$R/pause" && cp "$BIN/pause" "$R/pause/pause"
  if [[ -z $SET ]]; then # a --set takes the workloads' images from the main set
    one agnhost /agnhost
    # busybox with its applets as symlinks (sh, nslookup, wget, awk, ...)
    mkdir -p "$R/busybox/bin"
    cp "$BIN/busybox" "$R/busybox/bin/busybox"
    for applet in $("$BIN/busybox" --list-full); do
      [[ "$applet" == bin/busybox ]] && continue
      mkdir -p "$R/busybox/$(dirname "$applet")"
      ln -sf /bin/busybox "$R/busybox/$applet"
    done
  fi
  # netfilter for kube-proxy: Debian's iptables (nft backend, like Debian's default),
  # iptables-legacy, nft and conntrack, with their shared libraries and the xtables
  # extensions (dlopen()ed, so not in ldd's output), in the merged-/usr layout.
  n="$R/netfilter"
  mkdir -p "$n/usr/sbin" "$n/usr/lib/x86_64-linux-gnu" "$n/usr/lib64"
  for d in bin lib lib64 sbin; do ln -s "usr/$d" "$n/$d"; done
  mkdir -p "$n/usr/bin" "$n/var/lib" "$n/run" "$n/etc"
  copy_elf() { # the file at its real directory, under the name it was asked by (a soname)
    local f=$1 dir
    dir="$(realpath "$(dirname "$f")")"
    mkdir -p "$n$dir"
    [[ -e "$n$dir/$(basename "$f")" ]] || cp -L "$f" "$n$dir/$(basename "$f")"
  }
  elves=(/usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft /usr/sbin/conntrack
    /usr/lib/x86_64-linux-gnu/xtables/*.so)
  for f in "${elves[@]}"; do copy_elf "$f"; done
  for f in $(ldd "${elves[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
    copy_elf "$f"
  done
  for t in iptables ip6tables; do
    for s in "" -save -restore; do
      ln -s xtables-nft-multi "$n/usr/sbin/$t$s"
      ln -s xtables-nft-multi "$n/usr/sbin/$t-nft$s"
      ln -s xtables-legacy-multi "$n/usr/sbin/$t-legacy$s"
    done
  done
  chroot "$n" /usr/sbin/ip6tables --version >/dev/null || die "ip6tables does not run from the kube-proxy layer"
  chroot "$n" /usr/sbin/nft --version >/dev/null || die "nft does not run from the kube-proxy layer"
  chroot "$n" /usr/sbin/conntrack --version >/dev/null || die "conntrack does not run from the kube-proxy layer"

  build_image() { # NAME ENTRYPOINT-JSON LAYER... [-- extra imagebuilder flags]
    local name=$1 entry=$2 layers=() extra=()
    shift 2
    while (($#)); do
      if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi
      layers+=(-layer "$R/$1"); shift
    done
    "$IB" -out "$IMAGES/$name.tar" -ref "${IMAGE_REFS[$name]}" "${layers[@]}" -entrypoint "$entry" \
      -env "$PATH_ENV" -created "$CREATED" -platform linux/amd64 \
      -label "org.opencontainers.image.title=$name" -label "dev.kubev6.built-by=scripts/build-artifacts.sh" \
      "${extra[@]}" | awk '{print $3}' >"$IMAGES/$name.digest"
  }
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    build_image "$c" "[\"/usr/local/bin/$c\"]" base "$c" -- -label "org.opencontainers.image.version=$K8S"
  done
  build_image kube-proxy '["/usr/local/bin/kube-proxy"]' base netfilter kube-proxy -- \
    -label "org.opencontainers.image.version=$K8S"
  build_image etcd '["/usr/local/bin/etcd"]' base etcd -- \
    -label "org.opencontainers.image.version=$(used $W/etcd go.etcd.io/etcd/server/v3)"
  build_image coredns '["/coredns"]' base coredns -- \
    -label "org.opencontainers.image.version=$(used $W/coredns github.com/coredns/coredns)"
  build_image pause '["/pause"]' pause -- -user 65535:65535 -label "org.opencontainers.image.version=$PAUSE_VERSION"
  if [[ -z $SET ]]; then
    build_image agnhost '["/agnhost"]' base agnhost -- -label "org.opencontainers.image.version=$AGNHOST_VERSION"
    build_image busybox '[]' base busybox -- -cmd '["sh"]' -label "org.opencontainers.image.version=$BUSYBOX_DEB_VERSION"
  fi
  stamp images "$images_key"
  end images built
fi

# --- phase: e2e-images (the images the conformance suite runs, artifacts/e2e-images/) ------
begin e2e-images
E2E_OUT="$OUT/e2e-images"
if [[ -n $SET ]]; then
  for image in "${WORKLOAD_IMAGES[@]}"; do
    cp -p "$MAIN_OUT/images/$image.tar" "$MAIN_OUT/images/$image.digest" "$IMAGES/"
  done
  end e2e-images "cached: not built; the main set's ${WORKLOAD_IMAGES[*]} images"
elif [[ -x artifacts/e2e-images/build.sh || -f artifacts/e2e-images/build.sh ]]; then
  e2e_images_key="$(key_of "$(find artifacts/e2e-images -type f -print0 | sort -z | xargs -0 sha256sum)" "$ib_key" "$bins_sha" "$CREATED" 1)"
  if fresh e2e-images "$e2e_images_key" "$E2E_OUT/LIST"; then
    end e2e-images cached
  else
    mkdir -p "$E2E_OUT" "$WORK/e2e-images"
    BIN="$BIN" IB="$IB" E2E_OUT="$E2E_OUT" E2E_WORK="$WORK/e2e-images" K8S_DIR="$K8S_DIR" CREATED="$CREATED" \
      NICE="${NICE[*]}" bash artifacts/e2e-images/build.sh
    stamp e2e-images "$e2e_images_key"
    end e2e-images "built $(wc -l <"$E2E_OUT/LIST") images"
  fi
  # One image per name: the suite's agnhost (a shell, curl, dig...) is also what the nodes import
  # for the test workloads, under the same registry.k8s.io/e2e-test-images/agnhost name.
  cp "$E2E_OUT/agnhost.tar" "$IMAGES/agnhost.tar" && cp "$E2E_OUT/agnhost.digest" "$IMAGES/agnhost.digest"
else
  end e2e-images "none (no artifacts/e2e-images/build.sh)"
fi

# --- phase: network-addons (kube-network-policies and the BGP speaker) ----------------------
# kube-network-policies (NetworkPolicy for `network.policy: kube-network-policies`) from its module at
# KUBE_NETWORK_POLICIES_VERSION with artifacts/kube-network-policies/nfqueue-compat.patch (the xtables
# NFQUEUE target where the kernel lacks nft_queue), built with the module's own go.sum, and its image
# under the name upstream publishes; kubev6-bgp (`network.routing: bgp`), artifacts/bgp/main.go on
# GoBGP v4 (artifacts/bgp/go.mod), a binary the gateway's mirror serves.
begin network-addons
KNP_IMAGE_REF="registry.k8s.io/networking/kube-network-policies:v$KUBE_NETWORK_POLICIES_VERSION"
addons_key="$(key_of "$GO_VERSION" "$ib_key" "$KUBE_NETWORK_POLICIES_VERSION" "$CREATED" \
  "$(hash_of artifacts/kube-network-policies/nfqueue-compat.patch artifacts/bgp/go.mod artifacts/bgp/go.sum artifacts/bgp/main.go)" 1)"
if fresh network-addons "$addons_key" "$BIN/kube-network-policies" "$BIN/kubev6-bgp" "$IMAGES/kube-network-policies.tar"; then
  end network-addons cached
else
  knp_mod="sigs.k8s.io/kube-network-policies@v$KUBE_NETWORK_POLICIES_VERSION"
  knp_dir="$(cd /tmp && go mod download -json "$knp_mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$knp_dir" ]] || die "$knp_mod is not served by the module proxy (artifacts/versions.env)"
  src="$WORK/kube-network-policies"
  rm -rf "$src" && cp -r "$knp_dir" "$src" && chmod -R u+w "$src"
  (cd "$src" && patch -s -p1 <"$ROOT/artifacts/kube-network-policies/nfqueue-compat.patch") || die "the nfqueue patch does not apply to $knp_mod"
  (cd "$src" && "${NICE[@]}" "${GOBUILD[@]}" -mod=mod -ldflags "-s -w" -o "$BIN/kube-network-policies" ./cmd)
  (cd artifacts/bgp && "${NICE[@]}" "${GOBUILD[@]}" -ldflags "-s -w" -o "$BIN/kubev6-bgp" .)
  R="$WORK/rootfs-addons"
  rm -rf "$R" && mkdir -p "$R/knp/bin" && cp "$BIN/kube-network-policies" "$R/knp/bin/netpol" && base_layer "$R/base"
  "$IB" -out "$IMAGES/kube-network-policies.tar" -ref "$KNP_IMAGE_REF" -layer "$R/base" -layer "$R/knp" \
    -entrypoint '["/bin/netpol"]' -env "$PATH_ENV" -created "$CREATED" -platform linux/amd64 \
    -label "org.opencontainers.image.title=kube-network-policies" \
    -label "org.opencontainers.image.version=v$KUBE_NETWORK_POLICIES_VERSION+kubev6.nfqueue-compat" \
    -label "dev.kubev6.built-by=scripts/build-artifacts.sh" | awk '{print $3}' >"$IMAGES/kube-network-policies.digest"
  stamp network-addons "$addons_key"
  end network-addons "kube-network-policies v$KUBE_NETWORK_POLICIES_VERSION, kubev6-bgp on gobgp $(used artifacts/bgp github.com/osrg/gobgp/v4)"
fi

# --- phase: registry-content (every image pushed into the gateway registry's storage) -----
# The registry runs on this machine's loopback for the build only; crane pushes each archive under
# its own name with the registry it stands in for as the first path element
# (registry.k8s.io/pause:3.10.2 -> <registry>/registry.k8s.io/pause:3.10.2), which is how the
# nodes' containerd asks for it (hosts.toml, override_path). The storage folder, archived in a
# fixed order with fixed owners and times, is what the gateway's registry serves read-only.
begin registry-content
REG="$OUT/registry"
mkdir -p "$REG"
PUSHED=("$IMAGES"/*.tar)
[[ -d "$OUT/e2e-images" ]] && PUSHED+=("$OUT"/e2e-images/*.tar)
# containerd's sandbox image is the main set's pause (rendering/node_install.py pins it).
[[ -z $SET ]] || PUSHED+=("$MAIN_OUT/images/pause.tar")
reg_content_key="$(key_of "$registry_key" "$(cat "${PUSHED[@]/%.tar/.digest}" | sort)" 1)"
if fresh registry-content "$reg_content_key" "$REG/registry.tar"; then
  end registry-content cached
else
  root="$WORK/registry-root"
  rm -rf "$root" && mkdir -p "$root"
  REPO_TAGS='import json, sys
for ref in json.load(sys.stdin)[0]["RepoTags"]:
    first, _, rest = ref.partition("/")
    if not rest or ("." not in first and ":" not in first):
        first, rest = "docker.io", ref if "/" in ref else f"library/{ref}"
    print(("docker.io" if first == "index.docker.io" else first) + "/" + rest)'
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  cat >"$WORK/registry-build.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $root}, delete: {enabled: false}}
http: {addr: "127.0.0.1:$port"}
YAML
  "$BIN/registry" serve "$WORK/registry-build.yml" >"$WORK/registry-build.log" 2>&1 &
  registry_pid=$!
  trap 'kill $registry_pid 2>/dev/null || true; stop_ticker' EXIT
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/" || die "the build's registry did not start: $(cat "$WORK/registry-build.log")"
  for archive in "${PUSHED[@]}"; do
    # RepoTags as the archive names them, Docker Hub's spelled docker.io (containerd's host name).
    for ref in $(tar -xOf "$archive" manifest.json | python3 -c "$REPO_TAGS"); do
      "$CRANE" push --insecure "$archive" "127.0.0.1:$port/$ref" >/dev/null 2>>"$WORK/registry-build.log" ||
        die "crane could not push $archive as $ref: $(tail -3 "$WORK/registry-build.log")"
    done
  done
  kill $registry_pid && wait $registry_pid 2>/dev/null || true
  trap stop_ticker EXIT
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$REG/registry.tar.part" .
  mv "$REG/registry.tar.part" "$REG/registry.tar"
  stamp registry-content "$reg_content_key"
  end registry-content "${#PUSHED[@]} images, $(du -h "$REG/registry.tar" | cut -f1)"
fi

# --- phase: verify (kubeadm's own list of images, kubeadm's version) -----------------------
begin verify
[[ "$("$BIN/kubeadm" version -o short)" == "$K8S" ]] || die "kubeadm says $("$BIN/kubeadm" version -o short), not $K8S"
expected="$("$BIN/kubeadm" config images list --kubernetes-version "$K8S" 2>/dev/null | sort)"
built="$(printf '%s\n' "${IMAGE_REFS[@]}" | grep -v -e /e2e-test-images/ -e docker.io/ | sort)"
[[ "$expected" == "$built" ]] || die "the images do not match kubeadm's list (artifacts/versions.env out of step?)
kubeadm expects:
$expected
built:
$built"
end verify "kubeadm $K8S, its $(wc -l <<<"$expected") images"

# --- record --------------------------------------------------------------------------------
{
  echo "# Built by scripts/build-artifacts.sh from artifacts/versions.env; $(date -u +%FT%TZ)"
  echo "go $GO_VERSION; gcc $GCC_VERSION"
  for m in k8s.io/kubernetes k8s.io/apimachinery; do echo "module $m $(used $W/kubernetes "$m")"; done
  echo "module k8s.io/kubernetes/test/images/agnhost $AGNHOST_VERSION (VERSION file of the module)"
  for m in go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3; do echo "module $m $(used $W/etcd "$m")"; done
  echo "module github.com/coredns/coredns $(used $W/coredns github.com/coredns/coredns)"
  echo "module github.com/containerd/containerd/v2 $(used $WC/containerd github.com/containerd/containerd/v2)"
  echo "module github.com/opencontainers/runc $(used artifacts/runc github.com/opencontainers/runc) (cgo, $(deb_versions libseccomp-dev), static)"
  echo "module github.com/distribution/distribution/v3 $(used artifacts/registry github.com/distribution/distribution/v3)"
  echo "module github.com/onsi/ginkgo/v2 $(used artifacts/e2e github.com/onsi/ginkgo/v2) (ginkgo; e2e.test from k8s.io/kubernetes $(used artifacts/e2e k8s.io/kubernetes))"
  echo "module sigs.k8s.io/kube-network-policies v$KUBE_NETWORK_POLICIES_VERSION (+ artifacts/kube-network-policies/nfqueue-compat.patch)"
  echo "module github.com/osrg/gobgp/v4 $(used artifacts/bgp github.com/osrg/gobgp/v4) (kubev6-bgp, artifacts/bgp)"
  echo "module github.com/google/go-containerregistry $(used artifacts/imagebuilder github.com/google/go-containerregistry)"
  echo "pause $PAUSE_VERSION (build/pause/linux/pause.c of k8s.io/kubernetes, gcc -static -Os)"
  echo "debian busybox-static=$BUSYBOX_DEB_VERSION"
  deb_versions "${NETFILTER_DEBS[@]}" | sed 's/^/debian (kube-proxy image) /'
  echo "refused by the module proxy (all runs): $(wc -l <"$REFUSED")"
  sed 's/^/  /' "$REFUSED"
  for image in $(printf '%s\n' "${!IMAGE_REFS[@]}" | sort); do
    echo "image ${IMAGE_REFS[$image]} images/$image.tar $(du -k "$IMAGES/$image.tar" | cut -f1) KiB $(cat "$IMAGES/$image.digest")"
  done
  echo "image $KNP_IMAGE_REF images/kube-network-policies.tar $(du -k "$IMAGES/kube-network-policies.tar" | cut -f1) KiB $(cat "$IMAGES/kube-network-policies.digest")"
} >"$OUT/VERSIONS"
stamp all "$(hash_of "$STAMPS"/{kubernetes,agnhost,etcd,coredns,containerd,runc,registry,e2e,pause,busybox,imagebuilder,images,network-addons,registry-content})"
sed 's/^/  /' "$OUT/VERSIONS" >&2
say "binaries: $(du -sh "$BIN" | cut -f1), images: $(du -sh "$IMAGES" | cut -f1), in $OUT"
say "total: $(($(date +%s) - T0)) s"
echo "$OUT"
