#!/bin/sh
# Regenerates the committed protobuf and gRPC code from Protos/ (p4lang/p4runtime v1.5.0's
# P4Info and P4Runtime protos, and the google/rpc/status.proto it ships) and writes a MANIFEST of
# the SHA-256 of every input .proto and every generated file, which the generated-code tests check
# when protoc or a plugin is missing:
#   Sources/SluiceP4Runtime/Generated/*.pb.swift            messages (swift-protobuf)
#   Sources/SluiceP4RuntimeServer/Generated/*.grpc.swift    the P4Runtime service (grpc-swift-2)
#
# Needs protoc (Debian: protobuf-compiler), protoc-gen-swift from swift-protobuf 1.39.0 and
# protoc-gen-grpc-swift-2 from grpc-swift-protobuf 2.4.1, each built from its package:
#   git clone --branch 1.39.0 https://github.com/apple/swift-protobuf && cd swift-protobuf
#   swift build -c release --product protoc-gen-swift
#   git clone --branch 2.4.1 https://github.com/grpc/grpc-swift-protobuf && cd grpc-swift-protobuf
#   swift build -c release --product protoc-gen-grpc-swift-2
# then PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift PROTOC_GEN_GRPC_SWIFT=/path/to/protoc-gen-grpc-swift-2
# Scripts/generate-protos.sh (or have both on PATH). OUT=DIR and GRPC_OUT=DIR write somewhere else
# (the staleness tests do).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/Sources/SluiceP4Runtime/Generated}
grpc_out=${GRPC_OUT:-$root/Sources/SluiceP4RuntimeServer/Generated}
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
grpc_plugin=${PROTOC_GEN_GRPC_SWIFT:-$(command -v protoc-gen-grpc-swift-2 || true)}
if [ -z "$plugin" ] || [ ! -x "$plugin" ]; then
    echo "generate-protos: protoc-gen-swift not found (set PROTOC_GEN_SWIFT)" >&2; exit 1
fi
if [ -z "$grpc_plugin" ] || [ ! -x "$grpc_plugin" ]; then
    echo "generate-protos: protoc-gen-grpc-swift-2 not found (set PROTOC_GEN_GRPC_SWIFT)" >&2; exit 1
fi
command -v protoc >/dev/null || { echo "generate-protos: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
protos="google/rpc/status.proto p4/config/v1/p4info.proto p4/config/v1/p4types.proto p4/v1/p4data.proto p4/v1/p4runtime.proto"
services="p4/v1/p4runtime.proto"
mkdir -p "$out" "$grpc_out"
rm -f "$out"/*.pb.swift "$grpc_out"/*.grpc.swift
cd "$root/Protos"
# google/protobuf/any.proto comes from protoc's own include path; its Swift type
# (Google_Protobuf_Any) is part of the SwiftProtobuf library.
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    --swift_out="$out" $protos
# The service code lives in the server's target and imports the messages' module.
protoc --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" \
    --grpc-swift-2_opt=Visibility=Public,Server=true,Client=true,FileNaming=DropPath,ExtraModuleImports=SluiceP4Runtime \
    --grpc-swift-2_out="$grpc_out" $services
cd "$root"
manifest() { # DIR SUFFIX PATH-IN-REPO
    for g in "$1"/*"$2"; do
        (cd "$1" && sha256sum "$(basename "$g")") | sed "s|  |  $3/|"
    done
}
{
    for p in $protos; do sha256sum "Protos/$p"; done
    manifest "$out" .pb.swift Sources/SluiceP4Runtime/Generated
    manifest "$grpc_out" .grpc.swift Sources/SluiceP4RuntimeServer/Generated
} > "$out/MANIFEST"
echo "generate-protos: wrote $(ls "$out"/*.pb.swift "$grpc_out"/*.grpc.swift | wc -l) files and MANIFEST to $out"
