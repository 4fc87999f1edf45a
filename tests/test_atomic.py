import pytest

from zqmap.atomic import write_bytes, write_with


def test_interrupted_writer_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.pdf"

    def half(tmp):
        tmp.write_bytes(b"%PDF-partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_with(target, half)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_overwrite_keeps_old_file(tmp_path):
    target = write_bytes(tmp_path / "out.csv", b"old")

    def half(tmp):
        tmp.write_bytes(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_with(target, half, force=True)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_refuses_overwrite_without_force(tmp_path):
    target = write_bytes(tmp_path / "a", b"1")
    with pytest.raises(FileExistsError):
        write_bytes(target, b"2")
    assert write_bytes(target, b"2", force=True).read_bytes() == b"2"


def test_temp_file_keeps_suffix(tmp_path):
    seen = []
    write_with(tmp_path / "x.gpkg", lambda tmp: (seen.append(tmp.suffix), tmp.write_bytes(b"")))
    assert seen == [".gpkg"]
