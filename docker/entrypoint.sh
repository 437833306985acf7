#!/usr/bin/env bash
# Roles of the thresher images:
#   master            a Spark standalone master
#   worker            a worker of $SPARK_MASTER_URL
#   submit ARGS...    spark-submit of jobs/thresher_job.py to $SPARK_MASTER_URL; ARGS are thresher's (run CONF ...)
#   driver, executor  the pods of `spark-submit --master k8s://...` (Spark on Kubernetes starts its image's
#                     containers with these arguments and SPARK_* variables)
#   anything else     run as given, e.g. `thresher run conf/demo.yaml ...` in local mode
set -euo pipefail

master_url="${SPARK_MASTER_URL:-spark://master:7077}"
# The address this container is reached at (executors and the driver advertise it to each other).
address="${SPARK_LOCAL_IP:-$(python3 -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')}"

# The image's Spark carries the Delta jars (docker/fetch_spark_jars.py); a --properties-file replaces
# $SPARK_HOME/conf/spark-defaults.conf, so spark-submit gets the Delta session settings here (only where the jar
# is: naming a missing catalog class would fail every query).
delta_conf=()
if compgen -G "${SPARK_HOME:-/opt/spark}/jars/delta-spark_*.jar" > /dev/null; then
    delta_conf=(--conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
                --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog)
fi

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
            --conf "spark.driver.host=$address" "${delta_conf[@]}" \
            --properties-file "${SPARK_PROPERTIES_FILE:-/opt/thresher/conf/cluster/spark-defaults.conf}" \
            ${THRESHER_SUBMIT_ARGS:-} \
            "${THRESHER_JOB:-/opt/thresher/jobs/thresher_job.py}" "$@"
        ;;
    driver)
        # The driver pod of a Kubernetes cluster-mode job runs spark-submit in client mode.
        shift
        bind="${SPARK_DRIVER_BIND_ADDRESS:-$address}"
        exec spark-submit --deploy-mode client "${delta_conf[@]}" \
            --conf "spark.driver.bindAddress=$bind" \
            --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$bind" "$@"
        ;;
    executor)
        shift
        # Spark passes the executor's JVM options as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... in that order.
        mapfile -t java_options < <(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n | sed 's/^[^=]*=//')
        exec "$JAVA_HOME/bin/java" "${java_options[@]}" \
            -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
            -cp "${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}$SPARK_HOME/jars/*" \
            org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
            --driver-url "$SPARK_DRIVER_URL" \
            --executor-id "$SPARK_EXECUTOR_ID" \
            --cores "$SPARK_EXECUTOR_CORES" \
            --app-id "$SPARK_APPLICATION_ID" \
            --hostname "$SPARK_EXECUTOR_POD_IP" \
            --bind-address "$SPARK_EXECUTOR_POD_IP" \
            --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" \
            --podName "$SPARK_EXECUTOR_POD_NAME"
        ;;
    *)
        exec "$@"
        ;;
esac
