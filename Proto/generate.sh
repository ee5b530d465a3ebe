#!/usr/bin/env bash
# Regenerates Sources/KenProto from Proto/ken/v1/*.proto. Run by a developer after editing a
# .proto; the output is committed so that building Ken never needs protoc or the plugin.
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift Proto/generate.sh
# Build the plugin once from the swift-protobuf package the project depends on:
#   swift build -c release --product protoc-gen-swift   (inside a swift-protobuf checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
[ -x "$plugin" ] || { echo "generate.sh: set PROTOC_GEN_SWIFT to the protoc-gen-swift binary" >&2; exit 1; }
rm -f Sources/KenProto/*.pb.swift
protoc -I Proto --plugin="protoc-gen-swift=$plugin" \
  --swift_out=Sources/KenProto --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  Proto/ken/v1/*.proto
echo "regenerated: $(ls Sources/KenProto/*.pb.swift | tr '\n' ' ')"
