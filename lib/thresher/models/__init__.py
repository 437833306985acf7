"""Model-based scoring: sentence embeddings, fastText and embedding-head classifiers, their training.

Modules here import torch, sentence-transformers and fastText lazily, inside the functions that need them, so
that thresher (and the stage registry) work without the `models` extra installed.
"""
