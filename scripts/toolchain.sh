#!/usr/bin/env bash
# Installs the Pulumi toolchain at exactly the versions requirements.txt pins (the engine picks a
# plugin by the exact version the Python SDK reports, and offline it cannot fetch another one).
# Idempotent; a second run takes about a second. In order of preference:
#   1. a `pulumi` of the pinned version already on PATH is used as it is;
#   2. an offline bundle folder named by KUBEV6_PULUMI_BUNDLE, default ../shared/pulumi-bundle or
#      /work/shared/pulumi-bundle if present (Pulumi's release archive layout, checked against SHA256SUMS): the CLI goes to .tools/pulumi/bin/, plugins via --file;
#   3. online: Pulumi's installer at the pinned version, then `pulumi plugin install`.
# Plugins go to $PULUMI_HOME/plugins (default ~/.pulumi). Prints the CLI's folder on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

pin() { sed -n "s/^$1==\([0-9.]*\)\$/\1/p" requirements.txt; }
CLI_VERSION="$(pin pulumi)"
declare -A PLUGINS=([command]="$(pin pulumi-command)" [libvirt]="$(pin pulumi-libvirt)" [kubernetes]="$(pin pulumi-kubernetes)")
for name in "${!PLUGINS[@]}"; do
  [[ -n "${PLUGINS[$name]}" ]] || { echo "toolchain: requirements.txt pins no pulumi-$name" >&2; exit 1; }
done
export PULUMI_SKIP_UPDATE_CHECK=1
# The offline bundle: named by the caller, else the one next to this clone or this workplace's
# shared folder, if there is one.
if [[ -z "${KUBEV6_PULUMI_BUNDLE:-}" ]]; then
  for candidate in "$ROOT/../shared/pulumi-bundle" /work/shared/pulumi-bundle; do
    if [[ -f "$candidate/SHA256SUMS" ]]; then KUBEV6_PULUMI_BUNDLE="$(cd "$candidate" && pwd)"; break; fi
  done
fi

version_of() { "$1" version 2>/dev/null | tr -d 'v'; }
say() { echo "toolchain: $*" >&2; }

# 1-3: the CLI.
cli_dir=""
if on_path="$(command -v pulumi 2>/dev/null)" && [[ "$(version_of "$on_path")" == "$CLI_VERSION" ]]; then
  cli_dir="$(dirname "$on_path")"
elif [[ "$(version_of .tools/pulumi/bin/pulumi)" == "$CLI_VERSION" ]]; then
  cli_dir="$ROOT/.tools/pulumi/bin"
elif [[ -n "${KUBEV6_PULUMI_BUNDLE:-}" ]]; then
  bundle="$(cd "$KUBEV6_PULUMI_BUNDLE" && pwd)"
  say "verifying $bundle/SHA256SUMS"
  (cd "$bundle" && sha256sum --quiet -c SHA256SUMS) || { say "checksum mismatch in $bundle"; exit 1; }
  archive="$bundle/pulumi-v$CLI_VERSION-linux-x64.tar.gz"
  [[ -f "$archive" ]] || { say "$archive missing (requirements.txt pins pulumi==$CLI_VERSION)"; exit 1; }
  # The layout of Pulumi's installer (ROOT/bin/pulumi), which the Automation API expects.
  rm -rf .tools/pulumi && mkdir -p .tools/pulumi/bin
  tar -xzf "$archive" -C .tools/pulumi/bin --strip-components=1
  cli_dir="$ROOT/.tools/pulumi/bin"
else
  say "installing Pulumi v$CLI_VERSION with Pulumi's installer (online)"
  rm -rf .tools/pulumi && mkdir -p .tools
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$CLI_VERSION" --install-root "$ROOT/.tools/pulumi" \
    --no-edit-path >&2
  cli_dir="$ROOT/.tools/pulumi/bin"
fi
[[ "$(version_of "$cli_dir/pulumi")" == "$CLI_VERSION" ]] || { say "$cli_dir/pulumi is not v$CLI_VERSION"; exit 1; }
[[ -x "$cli_dir/pulumi-language-python" ]] || { say "no Python language host next to $cli_dir/pulumi"; exit 1; }
export PATH="$cli_dir:$PATH"

# The provider plugins, each at its pinned version.
installed="$(pulumi plugin ls 2>/dev/null || true)"
for name in "${!PLUGINS[@]}"; do
  version="${PLUGINS[$name]}"
  if grep -Eq "^$name +resource +$version( |$)" <<<"$installed"; then
    continue
  fi
  if [[ -n "${KUBEV6_PULUMI_BUNDLE:-}" ]]; then
    file="$KUBEV6_PULUMI_BUNDLE/pulumi-resource-$name-v$version-linux-amd64.tar.gz"
    [[ -f "$file" ]] || { say "$file missing (requirements.txt pins pulumi-$name==$version)"; exit 1; }
    say "installing plugin $name $version from the bundle"
    pulumi plugin install resource "$name" "$version" --file "$file" >&2
  else
    say "installing plugin $name $version (online)"
    pulumi plugin install resource "$name" "$version" >&2
  fi
done
echo "$cli_dir"
