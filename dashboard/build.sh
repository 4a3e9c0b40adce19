#!/usr/bin/env bash
# Builds the static dashboard into dashboard/dist: our sources plus uPlot from node_modules.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

npm ci --no-audit --no-fund

rm -rf dist
mkdir -p dist
cp src/index.html src/app.js src/style.css dist/
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css dist/
cp node_modules/uplot/LICENSE dist/uPlot.LICENSE 2>/dev/null || true
echo "dashboard built into $(pwd)/dist"
