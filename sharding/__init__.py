"""Stage 3, the release: webdataset tar shards, parquet sidecars, release manifests, SHA256SUMS, dataset card.

Reads only the filter stage's files (`filtered/kept/*.parquet`, `filtered/stats.json`) through the
contracts in `manifests`; never imports another stage.
"""
