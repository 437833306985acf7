"""thresher: distributed, Spark-based curation of LLM pre-training corpora."""

__version__ = "0.1.0"
