"""The peak memory of an encode: what the block allocates, whatever the process freed before."""

import math

from harness.study.measures.cost import PeakMemory


def _allocate(megabytes: int) -> list[bytes]:
    # 100 KB pieces: heap memory (under glibc's mmap threshold), as a model's many small buffers are
    return [bytes(range(256)) * 400 for _ in range(megabytes * 10)]


def test_a_block_that_fits_in_memory_freed_before_still_reads_what_it_allocates():
    freed = _allocate(60)  # a warm-up, or a model measured before, frees its buffers...
    above = _allocate(1)  # ...below memory still in use, so free() cannot hand the heap back
    del freed
    readings = []
    for _ in range(2):
        with PeakMemory("cpu") as meter:
            held = _allocate(20)
        readings.append(meter.peak_mb)
        del held
    # reading only the growth of the resident set, these read 0 MB: the block reused the freed heap
    assert all(15 < mb < 40 for mb in readings), readings
    assert above


def test_a_block_that_grows_nothing_is_unmeasured_not_zero():
    with PeakMemory("cpu") as meter:
        pass
    assert math.isnan(meter.peak_mb)
