import pytest

from mlwright.budget import rss_bytes
from mlwright.config import parse_bytes
from mlwright.errors import ConfigError


@pytest.mark.parametrize(
    "value,expected",
    [("2GB", 2_000_000_000), ("512 MiB", 512 * 2**20), ("1.5gib", int(1.5 * 2**30)), (1e9, 10**9), ("300", 300)],
)
def test_sizes_in_every_usual_spelling(value, expected):
    assert parse_bytes(value) == expected


@pytest.mark.parametrize("value", ["2 parsecs", "-1", "", "GB", 0, -5, float("nan"), True])
def test_what_is_not_a_positive_size_is_refused_with_an_example(value):
    with pytest.raises(ConfigError, match="memory_limit"):
        parse_bytes(value)


def test_resident_memory_is_read_on_linux():
    rss = rss_bytes()
    assert rss is None or 10 * 2**20 < rss < 64 * 2**30
