"""Model-based scoring stages: `embed`, `quality_fasttext`, `quality_embedding`, `toxicity`."""
