#!/usr/bin/env bash
# Builds the C# client with Debian's Mono (installed by `bash scripts/setup.sh --dotnet`):
#   dotnet/bin/Ismld.dll (+ Ismld.xml docs)  the library, C# 7.2, netstandard2.0 APIs only
#   dotnet/bin/Ismld.Tests.exe               its test runner (mono dotnet/bin/Ismld.Tests.exe)
#   dotnet/bin/examples/*.exe                examples/dotnet/, compiled against Ismld.dll
# Each output is rebuilt only when its sources are newer. A .NET SDK builds the same
# sources with dotnet/Ismld.csproj instead.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

if ! command -v mcs >/dev/null 2>&1; then
  echo "mcs not found: run 'bash scripts/setup.sh --dotnet' (Debian's mono-mcs)" >&2
  exit 1
fi
NEWTONSOFT="$(pkg-config --libs newtonsoft-json 2>/dev/null || echo -r:/usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll)"
MCS=(mcs -langversion:7.2 -nologo -r:System.Net.Http $NEWTONSOFT)
BIN=dotnet/bin
mkdir -p "$BIN/examples"

# stale OUT SOURCES...: whether OUT is missing or older than any source.
stale() {
  local out=$1; shift
  [ -f "$out" ] || return 0
  for f in "$@"; do [ "$f" -nt "$out" ] && return 0; done
  return 1
}

lib=(dotnet/src/*.cs)
if stale "$BIN/Ismld.dll" "${lib[@]}" "$0"; then
  log "compiling dotnet/bin/Ismld.dll (mcs)"
  "${MCS[@]}" -target:library -warnaserror+ -doc:"$BIN/Ismld.xml" -out:"$BIN/Ismld.dll" "${lib[@]}"
fi

tests=(dotnet/tests/*.cs)
if stale "$BIN/Ismld.Tests.exe" "${tests[@]}" "$BIN/Ismld.dll"; then
  log "compiling dotnet/bin/Ismld.Tests.exe"
  "${MCS[@]}" -target:exe -nowarn:219 -r:"$BIN/Ismld.dll" -out:"$BIN/Ismld.Tests.exe" "${tests[@]}"
fi

# Each example is one program; they find Ismld.dll next to them.
cp -p "$BIN/Ismld.dll" "$BIN/examples/Ismld.dll"
for src in examples/dotnet/*.cs; do
  [ -e "$src" ] || continue
  case "$src" in */Config.cs) continue ;; esac
  name=$(basename "$src" .cs)
  out="$BIN/examples/$name.exe"
  if stale "$out" "$src" examples/dotnet/Config.cs "$BIN/Ismld.dll"; then
    log "compiling dotnet/bin/examples/$name.exe"
    # -nowarn:219: the seed's example assigns a payload it never reads.
    "${MCS[@]}" -target:exe -nowarn:219 -r:"$BIN/Ismld.dll" -out:"$out" "$src" examples/dotnet/Config.cs
  fi
done
