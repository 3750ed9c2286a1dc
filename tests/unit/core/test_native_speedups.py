"""Optional native parts our dependencies silently fall back from, at a large cost."""

from kafka.record import util
from kafka.record._crc32c import crc as crc32c_pure_python


def test_kafka_python_checks_batch_crcs_with_the_native_crc32c() -> None:
    # Without the crc32c package kafka-python computes CRC32C in pure Python (~13 MB/s): every
    # produced and fetched record batch pays it, in every stage.
    assert util.calc_crc32c.__defaults__ is not None
    (impl,) = util.calc_crc32c.__defaults__
    assert impl is not crc32c_pure_python
    assert util.calc_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
