"""Deduplication: exact (hash of normalized text), URL, and MinHash-LSH fuzzy dedup.

Spark-free parts (text normalization, shingling, MinHash signatures, band keys, URL normalization) are pure
numpy/pyarrow functions over Arrow arrays; the corpus-wide parts (buckets, candidate edges, connected
components, keep policy) are DataFrame code. The stages in `thresher.stages` tie them together.
"""
