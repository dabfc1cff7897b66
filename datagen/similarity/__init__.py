"""Text similarity, shared by curation, the split, append and expansion:

    pairs.py     near pairs (rapidfuzz, all pairs or MinHash candidates), clusters, the
                 reference index
    minhash.py   MinHash signatures and LSH bands over character shingles
    embed.py     sentence embeddings from a model shipped in a PyPI package (`semantic` extra)
"""
