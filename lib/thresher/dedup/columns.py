"""Working column names shared by the dedup modules (one home, so a rename cannot split them)."""

# The group a document belongs to (exact key, or connected component of near-duplicates).
CLUSTER = "cluster"
# Order of preference within a group under the keep policy (smallest first).
RANK = "rank"
# A document's integer id in the similarity graph.
NODE = "node"
