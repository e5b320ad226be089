import pytest

from mlwright.data.sources import read_table
from mlwright.errors import DataReadError, EmptyDataError, UnsupportedFormatError


def test_csv_and_parquet(tmp_path, binary_df):
    binary_df.to_csv(tmp_path / "d.csv", index=False)
    binary_df.to_parquet(tmp_path / "d.parquet", index=False)
    a = read_table(tmp_path / "d.csv")
    b = read_table(str(tmp_path / "d.parquet"))
    assert a.shape == b.shape == binary_df.shape
    assert read_table(binary_df) is binary_df


def test_non_utf8(tmp_path):
    (tmp_path / "l.csv").write_bytes("name,y\nJosé,1\n".encode("latin-1"))
    with pytest.raises(DataReadError, match=r"not valid UTF-8.*re-save"):
        read_table(tmp_path / "l.csv")


def test_empty_and_header_only(tmp_path):
    (tmp_path / "e.csv").write_text("")
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(EmptyDataError, match="empty"):
        read_table(tmp_path / "e.csv")
    with pytest.raises(EmptyDataError, match="no data rows"):
        read_table(tmp_path / "h.csv")


def test_unsupported_extension_and_missing_file(tmp_path):
    with pytest.raises(UnsupportedFormatError, match=r"'\.xlsx' is not supported.*\.csv"):
        read_table(tmp_path / "d.xlsx")
    with pytest.raises(DataReadError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_malformed_parquet(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataReadError, match="cannot read"):
        read_table(tmp_path / "bad.parquet")


def test_ragged_csv(tmp_path):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(DataReadError, match="cannot parse"):
        read_table(tmp_path / "r.csv")
