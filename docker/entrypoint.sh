#!/usr/bin/env bash
# Roles of the thresher images:
#   master            a Spark standalone master
#   worker            a worker of $SPARK_MASTER_URL
#   submit ARGS...    spark-submit of jobs/thresher_job.py to $SPARK_MASTER_URL; ARGS are thresher's (run CONF ...)
#   anything else     run as given, e.g. `thresher run conf/demo.yaml ...` in local mode
set -euo pipefail

master_url="${SPARK_MASTER_URL:-spark://master:7077}"
# The address this container is reached at (executors and the driver advertise it to each other).
address="${SPARK_LOCAL_IP:-$(python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')}"

role="${1:-}"
case "$role" in
    master)
        shift
        exec spark-class org.apache.spark.deploy.master.Master \
            --host "${SPARK_MASTER_HOST:-$(hostname)}" \
            --port "${SPARK_MASTER_PORT:-7077}" \
            --webui-port "${SPARK_MASTER_WEBUI_PORT:-8080}" "$@"
        ;;
    worker)
        shift
        exec spark-class org.apache.spark.deploy.worker.Worker \
            --host "$address" \
            --cores "${SPARK_WORKER_CORES:-$(nproc)}" \
            --memory "${SPARK_WORKER_MEMORY:-4g}" \
            --webui-port "${SPARK_WORKER_WEBUI_PORT:-8081}" "$@" "$master_url"
        ;;
    submit)
        shift
        # THRESHER_SUBMIT_ARGS: more spark-submit options, e.g. "--conf spark.executor.memory=4g".
        # shellcheck disable=SC2086
        exec spark-submit --master "$master_url" \
            --conf "spark.driver.host=$address" \
            --properties-file "${SPARK_PROPERTIES_FILE:-/opt/thresher/conf/cluster/spark-defaults.conf}" \
            ${THRESHER_SUBMIT_ARGS:-} \
            "${THRESHER_JOB:-/opt/thresher/jobs/thresher_job.py}" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
