"""Checks that compare records with each other and with outside texts: the best member of a
cluster (`quality`, with `consensus`), exact and near duplicates (`dedup`), semantic
duplicates (`semantic`) and the reference matches (`references`: seed examples, reference and
eval sets, a published dataset)."""
