"""The store's keys: a change to the code that shapes a result changes its key; rewording does not."""

from __future__ import annotations

import shutil

import pytest
import yaml
from conftest import REPO

from cw_distillation import store
from cw_distillation.config import workflow_config


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    copy = tmp_path / "cw_distillation"
    shutil.copytree(store.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(store, "PACKAGE", copy)
    store.code_digest.cache_clear()
    store.equivalences.cache_clear()
    yield copy
    store.code_digest.cache_clear()
    store.equivalences.cache_clear()


def test_code_digest_follows_the_training_code_but_not_its_comments(package_copy):
    before = store.code_digest(store.TRAINING_CODE)
    train = package_copy / "train.py"
    text = train.read_text().replace('"""Training the Table I networks', '"""Reworded: the Table I networks')
    train.write_text(text + "\n# a comment\n")
    store.code_digest.cache_clear()
    assert store.code_digest(store.TRAINING_CODE) == before
    train.write_text(train.read_text() + "\nBATCH_SIZE = 64\n")
    store.code_digest.cache_clear()
    assert store.code_digest(store.TRAINING_CODE) != before
    # an attack's key does not follow another attack's code
    l2 = store.code_digest((*store.ATTACK_CODE, store.attack_module("l2")))
    jsma = package_copy / "attacks/jsma.py"
    jsma.write_text(jsma.read_text() + "\nX = 1\n")
    store.code_digest.cache_clear()
    assert store.code_digest((*store.ATTACK_CODE, store.attack_module("l2"))) == l2


def test_a_recorded_equivalence_keeps_the_old_key_and_only_for_that_code(package_copy):
    old = store.code_key(store.TRAINING_CODE, "model")
    train = package_copy / "train.py"
    train.write_text(train.read_text() + "\nBATCH_SIZE = 64\n")
    store.code_digest.cache_clear()
    new = store.code_digest(store.TRAINING_CODE)
    assert store.code_key(store.TRAINING_CODE, "model") == new != old
    (package_copy / store.EQUIVALENCES).write_text(yaml.safe_dump({"equivalences": [
        {"kind": "model", "old": old, "new": new, "evidence": "test"}]}))
    store.equivalences.cache_clear()
    assert store.code_key(store.TRAINING_CODE, "model") == old
    assert store.code_key(store.TRAINING_CODE, "logits") == new  # recorded for networks only
    # a chain ends at the oldest digest; a further change is not covered by it
    train.write_text(train.read_text() + "\nEPOCHS = 3\n")
    store.code_digest.cache_clear()
    newer = store.code_digest(store.TRAINING_CODE)
    assert store.code_key(store.TRAINING_CODE, "model") == newer
    (package_copy / store.EQUIVALENCES).write_text(yaml.safe_dump({"equivalences": [
        {"kind": "model", "old": old, "new": new}, {"kind": "model", "old": new, "new": newer}]}))
    store.equivalences.cache_clear()
    assert store.code_key(store.TRAINING_CODE, "model") == old
    (package_copy / store.EQUIVALENCES).write_text("equivalences: [{new: x}]\n")
    store.equivalences.cache_clear()
    with pytest.raises(ValueError, match=r"code_equivalences\.yaml"):
        store.code_key(store.TRAINING_CODE, "model")


def test_every_kind_of_stored_result_has_its_code_roots():
    roots = store.code_roots()
    assert {"data", "model", "logits", "fragility", "transfer", "attack:l2", "attack:l0", "attack:jsma"} <= set(roots)
    assert all(store.code_digest(r) for r in roots.values())


def test_a_network_key_follows_its_training_settings_and_its_upstream_networks():
    config = workflow_config([REPO / "config/tiny.yaml"], REPO / "workflow/schemas/config.schema.yaml")
    keys = {rel: store.key_of(store.parts_for(config, rel)) for rel in (
        "models/mnist/standard.keras", "models/mnist/init.keras", "models/mnist/distilled_T100.keras",
        "attacks/mnist/distilled_T100/l2.npz")}
    standard = store.parts_for(config, "models/mnist/standard.keras")
    assert standard == store.parts_for(config, "models/mnist/standard.json")
    assert store.parts_for(config, "transfer/mnist/half_a_to_half_b.npz") is None
    config["training"]["epochs"]["mnist"] += 1
    changed = {rel: store.key_of(store.parts_for(config, rel)) for rel in keys}
    assert changed["models/mnist/init.keras"] == keys["models/mnist/init.keras"]
    for rel in ("models/mnist/standard.keras", "models/mnist/distilled_T100.keras",
                "attacks/mnist/distilled_T100/l2.npz"):
        assert changed[rel] != keys[rel], rel


def test_results_on_jax_have_keys_of_their_own_and_tensorflows_keys_name_no_backend():
    config = workflow_config([REPO / "config/tiny.yaml"], REPO / "workflow/schemas/config.schema.yaml")
    assert config["backend"] == "tensorflow"
    rels = ("models/mnist/standard.keras", "logits/mnist/standard.npz", "attacks/mnist/distilled_T100/l2.npz",
            "fragility/mnist/distilled_T100.json", "transfer/mnist/half_a_examples.npz")
    tensorflow = {rel: store.parts_for(config, rel) for rel in rels}
    on_jax = {rel: store.parts_for({**config, "backend": "jax"}, rel) for rel in rels}
    for rel in rels:
        assert "backend" not in tensorflow[rel] and on_jax[rel]["backend"] == "jax", rel
        assert store.key_of(on_jax[rel]) != store.key_of(tensorflow[rel]), rel
    # The data are prepared by NumPy alone: one key for both.
    assert store.data_parts({**config, "backend": "jax"}, "mnist") == store.data_parts(config, "mnist")


def test_paired_attacks_name_the_network_they_are_paired_with_and_others_keep_their_keys():
    """attacks.images: common puts the images' other network into the key of the standard and
    main distilled networks' attacks; each (the results stored before pairing) leaves every key
    as it was, and the sweep's random-target variants never change."""
    schema = REPO / "workflow/schemas/config.schema.yaml"
    config = workflow_config([REPO / "config/tiny.yaml"], schema)
    each = {**config, "attacks": {**config["attacks"], "images": "each"}}
    rels = ("attacks/mnist/standard/l2.npz", "attacks/mnist/distilled_T100/fgs_divT.npz",
            "attacks/mnist/distilled_T100/l2_random.npz")
    paired = {rel: store.parts_for(config, rel) for rel in rels}
    assert paired[rels[0]]["images"]["also_correct_for"] == [
        store.key_of(store.model_parts(config, "mnist", "distilled_T100"))]
    assert paired[rels[1]]["images"]["also_correct_for"] == [
        store.key_of(store.model_parts(config, "mnist", "standard"))]
    assert "images" not in paired[rels[2]]
    for rel in rels:
        assert "images" not in store.parts_for(each, rel), rel


def test_a_stored_result_on_other_images_is_offered_for_reuse_only_to_the_same_job(tmp_path):
    schema = REPO / "workflow/schemas/config.schema.yaml"
    config = workflow_config([REPO / "config/tiny.yaml"], schema)
    each = {**config, "attacks": {**config["attacks"], "images": "each"}}
    rel = "attacks/mnist/standard/l2.json"
    results, root = tmp_path / "results", tmp_path / "store"
    (results / rel).parent.mkdir(parents=True)
    (results / rel).write_text('{"an attack summary": "on the unpaired images"}')
    from cw_distillation import provenance

    provenance.write_manifest(results / rel, provenance.Step(command="attack", params={}, inputs=[]))
    store.put(root, results, rel, store.parts_for(each, rel))

    assert store.reusable(root, rel, store.parts_for(config, rel)) == root / rel
    assert store.reusable(root, rel, store.parts_for(each, rel)) is None, "same images: restored, not reused"
    other = {**config, "attacks": {**config["attacks"], "l2": {**config["attacks"]["l2"], "max_iterations": 7}}}
    assert store.reusable(root, rel, store.parts_for(other, rel)) is None, "another job"
    (root / rel).write_bytes(b"tampered")
    assert store.reusable(root, rel, store.parts_for(config, rel)) is None, "an entry that does not verify"


def test_a_gpu_result_without_its_matmul_precision_is_not_stored(tmp_path):
    import json

    results, root = tmp_path / "results", tmp_path / "store"
    rel = "attacks/mnist/standard/l2.json"
    (results / rel).parent.mkdir(parents=True)
    (results / rel).write_text("{}")
    manifest = results / (rel + ".prov.json")
    gpu = {"gpu": ["NVIDIA H100"], "device": "GPU:0 (NVIDIA H100)"}
    manifest.write_text(json.dumps({"hardware": gpu}))
    with pytest.raises(ValueError, match="records no matmul precision; not stored"):
        store.put(root, results, rel, {"kind": "attack"})
    assert not (root / rel).exists()
    manifest.write_text(json.dumps({"hardware": {**gpu, "matmul_precision": "jax_default_matmul_precision=highest"}}))
    store.put(root, results, rel, {"kind": "attack"})
    assert (root / rel).is_file()


# ------------------------------------------------------------------ a job's files, together (issue 34)

ATTACK = "attacks/mnist/standard/l2"


def stored_attack(tmp_path, name: str = "store"):
    """An attack job's two files (result and summary) put in a store, as its job publishes them."""
    from cw_distillation import provenance

    results, root = tmp_path / "results", tmp_path / name
    parts = {"kind": "attack", "job": "the same for both files"}
    for suffix, data in ((".npz", b"PK the result"), (".json", b'{"summary": 1}')):
        (results / (ATTACK + suffix)).parent.mkdir(parents=True, exist_ok=True)
        (results / (ATTACK + suffix)).write_bytes(data)
        provenance.write_manifest(results / (ATTACK + suffix), provenance.Step(command="attack", params={}, inputs=[]))
        store.put(root, results, ATTACK + suffix, parts)
        (results / (ATTACK + suffix)).unlink()  # a fresh copy: results/ empty, the store full
    return results, root, parts


def flip(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))


def edit(old: str, new: str):
    return lambda path: path.write_text(path.read_text().replace(old, new, 1))


# What one file of a stored job may suffer: (the file, the damage, what the refusal says)
DAMAGE = {
    "flipped byte in the .npz": (".npz", flip, "SHA-256"),
    "file deleted": (".npz", lambda p: p.unlink(), "the file is missing"),
    "record's SHA-256 changed": (".npz.store.json", edit('"sha256": "', '"sha256": "0'), "differs from the store's"),
    "record's key changed": (".npz.store.json", edit('"key": "', '"key": "0'), "stored for another job"),
    "record not JSON": (".npz.store.json", lambda p: p.write_text("{not json"), "store record is not JSON"),
    "record not a record": (".npz.store.json", lambda p: p.write_text("[]"), "not a store record"),
    "record deleted": (".npz.store.json", lambda p: p.unlink(), "missing (the store holds"),
    "manifest deleted": (".npz.prov.json", lambda p: p.unlink(), "provenance manifest is missing"),
    "manifest of other bytes": (".npz.prov.json", edit('"sha256": "', '"sha256": "0'), "describes other bytes"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_of_a_job_keeps_its_twin_from_being_restored(tmp_path, damage):
    """Where one file of a two-file job is refused, neither is restored (the job is recomputed whole):
    one restored and one computed would be two jobs writing the twin (Snakemake's AmbiguousRuleException)."""
    results, root, parts = stored_attack(tmp_path)
    assert store.job_to_restore(root, results, ATTACK + ".json", parts) == (True, [])
    assert store.job_to_restore(root, results, ATTACK + ".npz", parts) == (True, [])

    results, root, parts = stored_attack(tmp_path, name="damaged")
    suffix, do, said = DAMAGE[damage]
    do(root / (ATTACK + suffix))
    restore, lines = store.job_to_restore(root, results, ATTACK + ".json", parts)
    assert not restore and len(lines) == 2, lines
    assert said in lines[0] and str(root / ATTACK) in lines[0], lines
    assert lines[1].startswith(f"{root / ATTACK}.json: verifies, but is not restored without the rest of its job")
    assert store.job_to_restore(root, results, ATTACK + ".npz", parts) == (False, []), "decided once, said once"


def test_store_check_names_a_record_that_is_not_json_and_goes_on(tmp_path, capsys):
    from cw_distillation.cli import main

    _, root, _ = stored_attack(tmp_path)
    (root / (ATTACK + ".npz.store.json")).write_text("{not json")
    assert main(["store", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"BAD {root / ATTACK}.npz.store.json: store record is not JSON" in out, out
    assert "2 entries, 1 bad" in out, "the other entry was still checked"


# ------------------------------------------------------------------ a full disk (issue 34)


def no_space(*args, **kwargs):
    import errno
    import os

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_while_storing_says_so_in_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    import json

    from cw_distillation import provenance
    from cw_distillation.cli import main

    results, root = tmp_path / "results", tmp_path / "store"
    (results / ATTACK).parent.mkdir(parents=True)
    (results / (ATTACK + ".json")).write_text("{}")
    provenance.write_manifest(results / (ATTACK + ".json"), provenance.Step(command="attack", params={}, inputs=[]))
    monkeypatch.setattr(shutil, "copy2", no_space)  # the copy into the store fails as on a full disk
    code = main(["store", "put", "--store", str(root), "--results", str(results), "--parts",
                 json.dumps({"kind": "attack"}), str(results / (ATTACK + ".json"))])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"{root / ATTACK}.json: no space left on the device (ENOSPC) while writing it" in err, err
    assert not [p for p in root.rglob("*") if p.is_file()], "nothing half-written kept"


def test_a_full_disk_while_writing_a_result_says_so_in_one_line_naming_the_file(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from cw_distillation.cli import main

    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "train_mnist_standard.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t900\n")
    monkeypatch.setattr(Path, "write_text", no_space)  # every text write fails as on a full disk
    code = main(["table-job-times", "--benchmarks", str(bench), "--out-base", str(tmp_path / "tables/job_times")])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert f"error: {tmp_path}/tables/job_times." in err and "no space left on the device (ENOSPC)" in err, err
    assert not [p for p in (tmp_path / "tables").iterdir()], "no temporary file left behind"


def test_a_job_this_tree_computed_stays_its_own_and_a_lost_file_of_it_brings_back_both(tmp_path):
    results, root, parts = stored_attack(tmp_path)
    for suffix in (".npz", ".json"):  # this tree's own results, the same bytes as the entries
        shutil.copyfile(root / (ATTACK + suffix), results / (ATTACK + suffix))
    assert store.job_to_restore(root, results, ATTACK + ".json", parts) == (False, [])
    results, root, parts = stored_attack(tmp_path, name="other")
    shutil.copyfile(root / (ATTACK + ".npz"), results / (ATTACK + ".npz"))  # its summary lost
    assert store.job_to_restore(root, results, ATTACK + ".npz", parts) == (True, []), "restored whole"
