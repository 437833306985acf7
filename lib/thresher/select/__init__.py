"""Selection algorithms: SemDeDup, hierarchical k-means balancing, prototype pruning, DSIR, budgets.

The numpy parts (k-means, greedy duplicate removal, quotas, hashed n-gram features) are Spark-free and
unit-tested on their own; the Spark parts (`ranking`, `vectors`) run them over DataFrames without collecting
documents to the driver.
"""
