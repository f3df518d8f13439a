"""Downloads from a local HTTP server and mirrors: verified, or refused with nothing left behind."""

import numpy as np
import pytest
from conftest import gz, md5, sha256, tar_gz

from cw_distillation.data.download import ChecksumError, DownloadError, UnsafeArchiveError, fetch_dataset
from cw_distillation.data.prepare import prepare
from cw_distillation.data.sources import Archive, DatasetSource, Payload

FAST = {"retries": 2, "backoff_s": 0.0, "timeout_s": 5.0, "progress": False}


def mnist_source(payloads: dict[str, bytes], urls_for) -> DatasetSource:
    archives = []
    for name, data in payloads.items():
        blob = gz(data)
        archives.append(
            Archive(
                f"{name}.gz",
                tuple(urls_for(f"{name}.gz", blob)),
                md5(blob),
                "gzip",
                (Payload(name, sha256(data), len(data)),),
            )
        )
    return DatasetSource("mnist", tuple(archives))


def cifar_source(payloads: dict[str, bytes], urls: tuple[str, ...], blob: bytes) -> DatasetSource:
    return DatasetSource(
        "cifar10",
        (
            Archive(
                "cifar-10-binary.tar.gz",
                urls,
                md5(blob),
                "tar.gz",
                tuple(Payload(n, sha256(d), len(d)) for n, d in payloads.items()),
                "cifar-10-batches-bin",
            ),
        ),
    )


def test_good_archives_download_verify_and_parse(http_server, tiny_mnist_payloads, tmp_path):
    source = mnist_source(tiny_mnist_payloads, lambda name, blob: [http_server.serve(name, blob)])
    paths = fetch_dataset(source, tmp_path / "raw", **FAST)
    assert [p.read_bytes() for p in paths] == list(tiny_mnist_payloads.values())
    arrays = prepare("mnist", tmp_path / "raw", tmp_path / "mnist.npz")
    assert arrays["x_train"].shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(arrays["y_train"][:5], [5, 0, 4, 1, 9])
    assert not (tmp_path / "raw.partial").exists()


def test_cifar_tar_is_extracted_member_by_member(http_server, tiny_cifar_payloads, tmp_path):
    blob = tar_gz(
        {f"cifar-10-batches-bin/{n}": d for n, d in tiny_cifar_payloads.items()}
        | {"cifar-10-batches-bin/readme.html": b"<html>"}
    )
    source = cifar_source(tiny_cifar_payloads, (http_server.serve("c.tar.gz", blob),), blob)
    fetch_dataset(source, tmp_path / "raw", **FAST)
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == sorted(tiny_cifar_payloads)
    arrays = prepare("cifar10", tmp_path / "raw", tmp_path / "c.npz")
    assert arrays["x_train"].shape == (15, 32, 32, 3) and arrays["x_test"].shape == (3, 32, 32, 3)


def test_corrupt_archive_fails_its_digest_and_leaves_nothing(http_server, tiny_mnist_payloads, tmp_path):
    def corrupt(name, blob):
        bad = bytearray(blob)
        bad[len(bad) // 2] ^= 0xFF
        return [http_server.serve(name, bytes(bad))]

    source = mnist_source(tiny_mnist_payloads, corrupt)
    with pytest.raises(DownloadError) as err:
        fetch_dataset(source, tmp_path / "raw", **FAST)
    assert "md5" in str(err.value).lower() and "DATA_MIRROR" in str(err.value)
    assert not (tmp_path / "raw").exists() and not (tmp_path / "raw.partial").exists()


def test_truncated_transfer_is_retried_then_reported(http_server, tiny_mnist_payloads, tmp_path):
    def truncated(name, blob):
        return [http_server.serve(name, blob[: len(blob) // 2], declared_length=len(blob))]

    source = mnist_source(tiny_mnist_payloads, truncated)
    with pytest.raises(DownloadError, match="attempt 2"):
        fetch_dataset(source, tmp_path / "raw", **FAST)
    assert not (tmp_path / "raw").exists()


def test_missing_first_url_falls_back_to_the_next(http_server, tiny_mnist_payloads, tmp_path):
    def fallback(name, blob):
        return [f"{http_server.base}/gone/{name}", http_server.serve(name, blob)]

    source = mnist_source(tiny_mnist_payloads, fallback)
    fetch_dataset(source, tmp_path / "raw", **FAST)
    # a 404 is not retried: one hit on the dead URL per file, then the fallback
    assert sum(h.startswith("/gone/") for h in http_server.hits) == len(tiny_mnist_payloads)
    assert (tmp_path / "raw" / "train-labels-idx1-ubyte").is_file()


def test_every_url_failing_names_them_and_the_mirror_option(tmp_path, tiny_mnist_payloads):
    source = mnist_source(tiny_mnist_payloads, lambda name, blob: [f"http://127.0.0.1:9/{name}"])
    with pytest.raises(DownloadError) as err:
        fetch_dataset(source, tmp_path / "raw", **FAST)
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in str(err.value)
    assert "DATA_MIRROR" in str(err.value)


def fetch_with_extra_member(http_server, payloads, tmp_path, name: str):
    """Fetch a CIFAR-10 archive with one more member, ``name``; the call that should refuse it."""
    members = {f"cifar-10-batches-bin/{n}": d for n, d in payloads.items()}
    blob = tar_gz(members | {name: b"rm -rf /"})
    source = cifar_source(payloads, (http_server.serve("c.tar.gz", blob),), blob)
    return lambda: fetch_dataset(source, tmp_path / "out" / "raw", **FAST)


@pytest.mark.parametrize(("member", "why"), [("../evil.sh", r"\.\./evil\.sh"),
                                             ("/tmp/evil.sh", r"'/tmp/evil\.sh' \(an absolute path\)")])
def test_a_tar_member_escaping_the_folder_is_refused(http_server, tiny_cifar_payloads, tmp_path, member, why):
    with pytest.raises(UnsafeArchiveError, match=why):
        fetch_with_extra_member(http_server, tiny_cifar_payloads, tmp_path, member)()
    assert not (tmp_path / "out" / "evil.sh").exists() and not (tmp_path / "evil.sh").exists()
    assert not (tmp_path / "out" / "raw").exists()


def test_payload_digest_is_checked_even_when_the_archive_digest_matches(http_server, tiny_mnist_payloads, tmp_path):
    source = mnist_source(tiny_mnist_payloads, lambda name, blob: [http_server.serve(name, blob)])
    first = source.archives[0]
    wrong = Payload(first.payloads[0].name, "0" * 64, first.payloads[0].size)
    source = DatasetSource(
        "mnist", (Archive(first.name, first.urls, first.md5, "gzip", (wrong,)), *source.archives[1:])
    )
    with pytest.raises(ChecksumError, match=f"{first.payloads[0].name}: SHA-256 mismatch .expected 0000"):
        fetch_dataset(source, tmp_path / "raw", **FAST)
    assert not (tmp_path / "raw").exists()


def mirror_of(tmp_path, payloads, dataset="mnist", wrap=True):
    folder = tmp_path / "mirror" / dataset
    folder.mkdir(parents=True)
    for name, data in payloads.items():
        if wrap:
            (folder / f"{name}.gz").write_bytes(gz(data))
        else:
            (folder / name).write_bytes(data)
    return tmp_path / "mirror"


def test_mirror_is_used_instead_of_the_network_and_verified(tmp_path, tiny_mnist_payloads, tiny_cifar_payloads):
    dead = lambda name, blob: ["http://127.0.0.1:9/" + name]  # noqa: E731 - never contacted
    mirror = mirror_of(tmp_path, tiny_mnist_payloads)
    fetch_dataset(mnist_source(tiny_mnist_payloads, dead), tmp_path / "m", mirror=mirror, **FAST)
    assert (tmp_path / "m" / "t10k-labels-idx1-ubyte").read_bytes() == tiny_mnist_payloads["t10k-labels-idx1-ubyte"]
    cifar_mirror = mirror_of(tmp_path / "c", tiny_cifar_payloads, "cifar10", wrap=False)
    fetch_dataset(cifar_source(tiny_cifar_payloads, (), b""), tmp_path / "c10", mirror=cifar_mirror, **FAST)
    assert len(list((tmp_path / "c10").iterdir())) == 6


def test_one_changed_byte_in_a_mirror_file_names_the_file_and_writes_nothing(tmp_path, tiny_cifar_payloads):
    mirror = mirror_of(tmp_path, tiny_cifar_payloads, "cifar10", wrap=False)
    target = mirror / "cifar10" / "data_batch_3.bin"
    data = bytearray(target.read_bytes())
    data[100] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"data_batch_3\.bin: SHA-256 mismatch"):
        fetch_dataset(cifar_source(tiny_cifar_payloads, (), b""), tmp_path / "raw", mirror=mirror, **FAST)
    assert not (tmp_path / "raw").exists() and not (tmp_path / "raw.partial").exists()


def test_mirror_without_the_files_says_what_it_looked_for(tmp_path, tiny_mnist_payloads):
    (tmp_path / "empty" / "mnist").mkdir(parents=True)
    with pytest.raises(DownloadError, match=r"neither train-images-idx3-ubyte\.gz nor"):
        fetch_dataset(mnist_source(tiny_mnist_payloads, lambda n, b: []), tmp_path / "raw", mirror=tmp_path / "empty")


def test_interrupted_run_leftovers_are_cleared_on_restart(http_server, tiny_mnist_payloads, tmp_path):
    (tmp_path / "raw.partial").mkdir()
    (tmp_path / "raw.partial" / "train-images-idx3-ubyte").write_bytes(b"half a file")
    source = mnist_source(tiny_mnist_payloads, lambda name, blob: [http_server.serve(name, blob)])
    fetch_dataset(source, tmp_path / "raw", **FAST)
    assert (tmp_path / "raw" / "train-images-idx3-ubyte").read_bytes() == tiny_mnist_payloads["train-images-idx3-ubyte"]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupt_mirror_gz_is_named_with_what_to_do_and_nothing_is_kept(tmp_path, tiny_mnist_payloads, damage):
    mirror = mirror_of(tmp_path, tiny_mnist_payloads)
    bad = mirror / "mnist" / "train-images-idx3-ubyte.gz"
    raw = bytearray(bad.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
    else:
        raw = raw[: len(raw) // 2]
    bad.write_bytes(bytes(raw))
    dead = lambda name, blob: []  # noqa: E731
    with pytest.raises(DownloadError, match="corrupt archive") as err:
        fetch_dataset(mnist_source(tiny_mnist_payloads, dead), tmp_path / "raw", mirror=mirror, **FAST)
    assert str(bad) in str(err.value) and "replace it there with the official file" in str(err.value)
    assert not (tmp_path / "raw").exists()


def test_a_full_disk_while_extracting_a_good_mirror_archive_says_so_not_corrupt(tmp_path, tiny_mnist_payloads,
                                                                                monkeypatch):
    """ENOSPC while decompressing is the disk's fault, not the archive's: no advice to replace a good file."""
    import errno
    import os
    import shutil

    from cw_distillation.files import DiskFull

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    mirror = mirror_of(tmp_path, tiny_mnist_payloads)
    monkeypatch.setattr(shutil, "copyfileobj", no_space)
    with pytest.raises(DiskFull) as err:
        fetch_dataset(mnist_source(tiny_mnist_payloads, lambda n, b: []), tmp_path / "raw", mirror=mirror, **FAST)
    assert "no space left on the device (ENOSPC)" in str(err.value) and "raw.partial" in str(err.value)
    assert "corrupt" not in str(err.value) and not (tmp_path / "raw").exists()
