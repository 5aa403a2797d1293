#!/bin/sh
# Rebuild the example package from data/samples (run from the repository root).
# The key below is a DEMO key, published so that anyone can verify the example: never use it.
set -eu
out=docs/example-package
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
printf '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n' > "$out/demo.key"
piu --home "$home" -q ingest data/samples/flat_manifest.csv
piu --home "$home" -q ingest data/samples/fal_general_declaration_crew.xlsx
piu --home "$home" -q ingest data/samples/calls.csv data/samples/persons.csv
piu --home "$home" -q score --since 2026-11-01 --until 2026-11-30 -f json > /dev/null
SOURCE_DATE_EPOCH=1796083200 piu --home "$home" export --unit TH-SGZ --since 2026-11-01 --until 2026-11-30 \
    --key-file "$out/demo.key" -o "$out/th-sgz-2026-11.zip"
piu --home "$home" export --unit TH-SGZ --since 2026-11-01 --until 2026-11-30 --target vrs -o "$out/vrs-th-sgz-2026-11.csv"
rm -f "$out/manifest.json" "$out/cases.jsonl"
unzip -q -o "$out/th-sgz-2026-11.zip" manifest.json cases.jsonl -d "$out"
