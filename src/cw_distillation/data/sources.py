"""Where the official datasets live and what their bytes must hash to.

MNIST comes as four gzip archives (one IDX payload each); CIFAR-10 as the *binary*
tar archive (never the pickle version: unpickling downloaded data runs code).
Archive digests are the publishers' MD5s; payload digests are SHA-256 of the
extracted files, checked always, whatever the archive's origin (a local mirror
may re-wrap a gzip, so only the payload is comparable there).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Payload:
    name: str  # file name once extracted (and inside a mirror)
    sha256: str
    size: int


@dataclass(frozen=True)
class Archive:
    name: str  # file name as served
    urls: tuple[str, ...]  # tried in order: the first is the official one, the rest fallbacks
    md5: str | None  # the publisher's digest of the archive as served
    kind: str  # "gzip" (one payload) or "tar.gz" (payloads under member_dir/)
    payloads: tuple[Payload, ...]
    member_dir: str = ""


@dataclass(frozen=True)
class DatasetSource:
    name: str
    archives: tuple[Archive, ...]

    @property
    def payloads(self) -> tuple[Payload, ...]:
        return tuple(p for a in self.archives for p in a.payloads)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> DatasetSource:
        raw = json.loads(text)
        archives = tuple(
            Archive(
                name=a["name"],
                urls=tuple(a["urls"]),
                md5=a["md5"],
                kind=a["kind"],
                payloads=tuple(Payload(**p) for p in a["payloads"]),
                member_dir=a.get("member_dir", ""),
            )
            for a in raw["archives"]
        )
        return cls(name=raw["name"], archives=archives)


_MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # the copy Google's tools use
    "http://yann.lecun.com/exdb/mnist/",  # the publisher's page
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)


def _mnist(archive: str, payload: str, md5: str, sha256: str, size: int) -> Archive:
    return Archive(
        name=archive,
        urls=tuple(base + archive for base in _MNIST_MIRRORS),
        md5=md5,
        kind="gzip",
        payloads=(Payload(payload, sha256, size),),
    )


MNIST = DatasetSource(
    name="mnist",
    archives=(
        _mnist(
            "train-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            47040016,
        ),
        _mnist(
            "train-labels-idx1-ubyte.gz",
            "train-labels-idx1-ubyte",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            60008,
        ),
        _mnist(
            "t10k-images-idx3-ubyte.gz",
            "t10k-images-idx3-ubyte",
            "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            7840016,
        ),
        _mnist(
            "t10k-labels-idx1-ubyte.gz",
            "t10k-labels-idx1-ubyte",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            10008,
        ),
    ),
)

_CIFAR_BATCH = 30730000
CIFAR10 = DatasetSource(
    name="cifar10",
    archives=(
        Archive(
            name="cifar-10-binary.tar.gz",
            urls=(
                "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                "http://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                "https://web.archive.org/web/2024/https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            ),
            md5="c32a1d4ab5d03f1284b67883e8d87530",
            kind="tar.gz",
            member_dir="cifar-10-batches-bin",
            payloads=(
                Payload(
                    "data_batch_1.bin", "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5", _CIFAR_BATCH
                ),
                Payload(
                    "data_batch_2.bin", "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed", _CIFAR_BATCH
                ),
                Payload(
                    "data_batch_3.bin", "bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67", _CIFAR_BATCH
                ),
                Payload(
                    "data_batch_4.bin", "014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48", _CIFAR_BATCH
                ),
                Payload(
                    "data_batch_5.bin", "755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add", _CIFAR_BATCH
                ),
                Payload(
                    "test_batch.bin", "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b", _CIFAR_BATCH
                ),
            ),
        ),
    ),
)

def source_for(dataset: str, registry: str | Path | None = None) -> DatasetSource:
    """The official source (``datasets.DATASETS``), or one read from a registry file
    (synthetic data for tests)."""
    from cw_distillation import datasets  # it imports this module's sources

    if registry is not None:
        src = DatasetSource.from_json(Path(registry).read_text())
        if src.name != dataset:
            raise ValueError(f"registry {registry} describes {src.name!r}, not {dataset!r}")
        return src
    return datasets.spec(dataset).source
