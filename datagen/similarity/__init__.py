"""Text similarity, shared by curation, the split, append and expansion:

    pairs.py     near pairs (rapidfuzz, all pairs or MinHash candidates), clusters, the
                 reference index
    grouping.py  near-duplicate groups at the split's ratio: MinHash draws verified band by
                 band, joining groups as they go
    minhash.py   MinHash signatures and LSH bands over character shingles
    spread.py    the same candidates over a cluster: texts and sketches written per
                 partition, a task per band
    embed.py     sentence embeddings from a model shipped in a PyPI package (`semantic` extra)
"""
