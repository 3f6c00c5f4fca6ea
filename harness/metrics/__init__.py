"""Pure measures over ids, vectors and scores (numpy, scipy, pandas): no I/O, no models.

One module per family: agreement of ranked lists, retrieval against judgements, spaces
(alignment of two embeddings), pairs, groups, index fidelity, latency, Prometheus.
"""
