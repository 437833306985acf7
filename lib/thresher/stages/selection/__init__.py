"""Selection stages: semantic dedup, cluster-balanced sampling, prototype pruning, DSIR, budgets."""
