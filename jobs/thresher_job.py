"""spark-submit entry point: the arguments are those of the `thresher` command line.

    spark-submit --master yarn --py-files dist/thresher-0.1.0.zip jobs/thresher_job.py \
        run web_en.yaml --input 's3a://bucket/cc/*.jsonl.gz' --output s3a://bucket/runs/web_en

spark-submit has already built the Spark session (master, resources, --conf), so `thresher.spark.get_spark()`
reuses it; settings in the config's `spark:` section that can only be set at start-up are reported and ignored.
"""

import sys

from thresher.cli import main

if __name__ == "__main__":
    sys.exit(main())
