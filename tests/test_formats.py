"""The parsers read hand-built IDX and CIFAR-10 binary records exactly."""

import numpy as np
import pytest

from cw_distillation.data.formats import FormatError, parse_cifar_binary, parse_idx


def test_idx_images_and_labels_round_trip(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big")
    (tmp_path / "img").write_bytes(header + images.tobytes())
    (tmp_path / "lab").write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([5, 0, 4]))
    np.testing.assert_array_equal(parse_idx(tmp_path / "img"), images)
    np.testing.assert_array_equal(parse_idx(tmp_path / "lab"), [5, 0, 4])


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "magic"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x07", "unsigned byte"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x07", "header"),
    ],
)
def test_idx_rejects_malformed_files_with_reason(tmp_path, raw, message):
    (tmp_path / "bad").write_bytes(raw)
    with pytest.raises(FormatError, match=message):
        parse_idx(tmp_path / "bad")


def test_cifar_records_are_label_then_rgb_planes(tmp_path):
    # one record: label 3, R plane all 10, G plane all 20, B plane 0..1023 % 256
    blue = (np.arange(1024) % 256).astype(np.uint8)
    record = bytes([3]) + bytes([10]) * 1024 + bytes([20]) * 1024 + blue.tobytes()
    (tmp_path / "b.bin").write_bytes(record * 2)
    x, y = parse_cifar_binary(tmp_path / "b.bin")
    assert x.shape == (2, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(y, [3, 3])
    assert (x[0, :, :, 0] == 10).all() and (x[0, :, :, 1] == 20).all()
    np.testing.assert_array_equal(x[0, 0, :, 2], blue[:32])  # row-major: first row is the first 32 bytes
    np.testing.assert_array_equal(x[0, 1, :, 2], blue[32:64])


def test_cifar_rejects_partial_records(tmp_path):
    (tmp_path / "b.bin").write_bytes(bytes(3073 + 5))
    with pytest.raises(FormatError, match="whole number"):
        parse_cifar_binary(tmp_path / "b.bin")
