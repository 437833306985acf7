#!/usr/bin/env bash
# Spark GPU discovery script: prints the node's NVIDIA GPUs as Spark's resource JSON, e.g.
#   {"name": "gpu", "addresses": ["0", "1"]}
# Referenced by spark.executor.resource.gpu.discoveryScript (conf/cluster/gpu.conf).
set -euo pipefail
indexes=$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | paste -sd, -)
addresses=$(printf '%s' "$indexes" | sed -e 's/\([^,][^,]*\)/"\1"/g')
printf '{"name": "gpu", "addresses": [%s]}\n' "$addresses"
