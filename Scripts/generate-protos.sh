#!/bin/sh
# Regenerates Sources/SluiceP4Runtime/Generated/*.pb.swift from Protos/ (p4lang/p4runtime's
# P4Info protos) and writes Generated/MANIFEST: the SHA-256 of every input .proto and every
# generated file, which P4InfoGeneratedCodeTests checks when protoc or the plugin is missing.
#
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift from swift-protobuf 1.39.0:
#   git clone --branch 1.39.0 https://github.com/apple/swift-protobuf && cd swift-protobuf
#   swift build -c release --product protoc-gen-swift
# then PROTOC_GEN_SWIFT=/path/to/.build/release/protoc-gen-swift Scripts/generate-protos.sh
# (or have protoc-gen-swift on PATH). OUT=DIR writes somewhere else (the staleness test does).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/Sources/SluiceP4Runtime/Generated}
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
if [ -z "$plugin" ] || [ ! -x "$plugin" ]; then
    echo "generate-protos: protoc-gen-swift not found (set PROTOC_GEN_SWIFT)" >&2; exit 1
fi
command -v protoc >/dev/null || { echo "generate-protos: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
protos="p4/config/v1/p4info.proto p4/config/v1/p4types.proto"
mkdir -p "$out"
rm -f "$out"/*.pb.swift
cd "$root/Protos"
# google/protobuf/any.proto comes from protoc's own include path; its Swift type
# (Google_Protobuf_Any) is part of the SwiftProtobuf library.
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --swift_out="$out" $protos
cd "$root"
{
    for p in $protos; do sha256sum "Protos/$p"; done
    for g in "$out"/*.pb.swift; do
        (cd "$out" && sha256sum "$(basename "$g")") | sed "s|  |  Sources/SluiceP4Runtime/Generated/|"
    done
} > "$out/MANIFEST"
echo "generate-protos: wrote $(ls "$out"/*.pb.swift | wc -l) files and MANIFEST to $out"
