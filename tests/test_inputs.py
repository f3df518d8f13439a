"""Every step checks its inputs first: a changed file is refused, a corrupt one is named."""

from __future__ import annotations

import json

import numpy as np

from cw_distillation.cli import main


def test_an_input_changed_after_it_was_made_is_refused_naming_it(tmp_path, capsys):
    table = tmp_path / "model_accuracy.json"
    table.write_text('{"test_accuracy": 0.99}\n')
    (tmp_path / "model_accuracy.json.prov.json").write_text(json.dumps({"artifact": {"sha256": "0" * 64}}))
    out = tmp_path / "out" / "table"
    assert main(["table-accuracy", "--metrics", str(table), "--out-base", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{table}: its SHA-256" in err and "refusing to read it" in err
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_a_corrupt_npz_input_is_named_with_what_to_do(tmp_path, capsys):
    logits = tmp_path / "standard.npz"
    np.savez(logits, logits=np.arange(4000, dtype=np.float32).reshape(400, 10), labels=np.zeros(400, np.int64))
    raw = bytearray(logits.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    logits.write_bytes(bytes(raw))
    assert main(["table-logits", "--logits", str(logits), "--out-base", str(tmp_path / "t")]) == 1
    err = capsys.readouterr().err
    assert f"{logits} is corrupt" in err and "delete it and rerun" in err and "Traceback" not in err
