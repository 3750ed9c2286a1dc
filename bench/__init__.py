"""Benchmarks: ``bench/run`` (the end-to-end pipeline against the NLP limit) and per-stage
micro-benchmarks. See bench/README.md."""
