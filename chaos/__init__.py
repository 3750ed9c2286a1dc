"""Chaos harness: the delivery proof on real Kafka + Elasticsearch (see :mod:`chaos.harness`).

Run on demand: ``chaos/run --articles 3000 --kills 20`` (or ``python -m chaos``); a short
version runs in the test suite (``tests/integration/test_chaos.py``). Outage tests and the
harness use :mod:`chaos.services` to run a private Kafka + Elasticsearch pair on other ports.
"""
