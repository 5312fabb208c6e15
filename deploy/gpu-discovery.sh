#!/usr/bin/env bash
# Spark resource discovery script for GPUs (spark.{driver,executor,worker}.resource.gpu.discoveryScript):
# prints {"name": "gpu", "addresses": ["0", "1", ...]} with the indices nvidia-smi reports.
# With no NVIDIA GPU it reports none, and tasks run on the CPU.
set -euo pipefail
if command -v nvidia-smi >/dev/null 2>&1; then
  ids=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | tr -d ' ' | paste -sd, - | sed 's/\([0-9][0-9]*\)/"\1"/g')
else
  ids=""
fi
echo "{\"name\": \"gpu\", \"addresses\": [${ids}]}"
