"""REPORT.md and verdicts.json: every claim of Section VIII beside ours, its rule and its verdict.

Everything comes from files: the paper's values from reference_results.yaml (via ``reference``),
the rules from verdict_rules.yaml (``rules``), ours from the tables under
paper_outputs/<profile>/tables/. The rows are built by ``section8``; this module says what kind
of run the profile is, opens with the headline and the counts, and writes both forms. The JSON is
what the README is built from (``readme``), never the Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cw_distillation.attacks import registry
from cw_distillation.outputs import beyond
from cw_distillation.outputs import rules as rules_file
from cw_distillation.outputs.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MISSING,
    NOT_AT_SCALE,
    SHOWN,
    VERDICTS,
    Claim,
    Inputs,
    on,
    pct,
    read_table,
)
from cw_distillation.outputs.section8 import all_claims
from cw_distillation.outputs.tables import fmt
from cw_distillation.reference import lookup

ALL = "all"
__all__ = ["FAILS", "HOLDS", "INCONCLUSIVE", "MISSING", "NOT_AT_SCALE", "SHOWN", "VERDICTS", "build_report",
           "build_verdicts", "on", "read_table", "scale"]


QUALITATIVE_EPOCHS = 2
BUDGET = ("binary_search_steps", "max_iterations")  # the options that set an attack's budget


def trained(config: dict, dataset: str) -> bool:
    """Whether ``dataset``'s networks are trained enough for distillation's qualitative effects: on the
    real images (not the synthetic stand-ins), all of them, for QUALITATIVE_EPOCHS epochs or more."""
    training = config["training"]
    return (
        not config["data"]["synthetic"]["enabled"]
        and training["epochs"][dataset] >= QUALITATIVE_EPOCHS
        and training["train_subset"][dataset] is None
    )


def scale(config: dict) -> dict[str, Any]:
    """How the profile compares with the paper's settings."""
    training, attacks = config["training"], config["attacks"]
    paper_training = (
        all(training["epochs"][d] == lookup("models.training.epochs") for d in config["datasets"])
        and all(training["train_subset"][d] is None for d in config["datasets"])
        and training["batch_size"] == lookup("models.training.batch_size")
    )
    defaults = lookup("attack_defaults")
    paper_attacks = all(  # our attacks' budgets: the released code's search steps and iterations
        attacks[registry.TABLE_ATTACKS[name].options_key][key] == defaults[name][key]
        for name in registry.in_paper(ours=True)
        for key in BUDGET
        if key in defaults.get(name, {})  # reference_results.yaml: the released code's settings
    )
    return {
        # Distillation's effects (large logits, saturated softmax) need trained networks: every training
        # image, for at least QUALITATIVE_EPOCHS epochs (measured on MNIST: an init epoch, then a teacher and
        # a student of 2 epochs each at T = 100 give 97.2% test accuracy and logits ~75x a standard
        # network's), not a few epochs on a subset. Qualitative claims are judged only on such datasets.
        "trained_on": {d: trained(config, d) for d in config["datasets"]},
        "paper_training": paper_training,
        "paper_attacks": paper_attacks,
        "n_images": {d: attacks["n_images"][d] for d in config["datasets"]},
        "max_images": dict(attacks.get("max_images", {})),
        "epochs": {d: training["epochs"][d] for d in config["datasets"]},
        "train_subset": {d: training["train_subset"][d] for d in config["datasets"]},
        "l2_iterations": attacks["l2"]["max_iterations"],
        "l2_search_steps": attacks["l2"]["binary_search_steps"],
        # The sweep's temperatures and the transfer settings, empty where the profile leaves that experiment out.
        "temperatures": training["temperatures"] if training.get("sweep_dataset", "mnist") else [],
        "main_temperature": training["main_temperature"],
        "transfer": dict(config.get("transfer", {})) if training.get("transfer_dataset", "mnist") else {},
    }


# The released L2 attack's budget (search steps x iterations per step), as the scale tables show it.
PAPER_L2_BUDGET = (f"{lookup('attack_defaults.l2.binary_search_steps')} x "
                   f"{lookup('attack_defaults.l2.max_iterations')}")


def _transfer_scale_row(transfer: dict, search_steps: int) -> str:
    """The transfer experiment's size: examples per kappa, the kappa grid, the source attack's budget."""
    kappas = transfer.get("kappas", [])
    per_image = "9 targets" if transfer.get("targets", "all") == "all" else "1 random target"
    grid = f"{fmt(min(kappas))} to {fmt(max(kappas))} ({len(kappas)} values)" if kappas else "none"
    return (
        f"| transfer: examples per kappa; kappa; L2 search steps x iterations | {transfer.get('n_images')} images x "
        f"{per_image}; {grid}; {search_steps} x {transfer.get('max_iterations')} | not stated; 0 to 40; "
        f"{PAPER_L2_BUDGET} |"
    )


JUDGED_REPORTS = "`paper_outputs/mnist10/REPORT.md` and `paper_outputs/cifar10/REPORT.md`"
JUDGED = (HOLDS, FAILS, INCONCLUSIVE)


def reduced(sc: dict) -> bool:
    """A profile whose attacks are below the paper's settings: its report lists only the rows it judges."""
    return not sc["paper_attacks"]


def banner(sc: dict, left_out: int) -> list[str]:
    """What kind of run the report is: a smoke test, a reduced-scale run, or neither."""
    if not any(sc["trained_on"].values()):
        return [f"**This profile is a smoke test of the whole chain, not a replication**: its networks are trained too "
                f"briefly for distillation's effects to appear; it judges no claim ({left_out} rows left out). The "
                f"judged reports are {JUDGED_REPORTS}."]
    if reduced(sc):
        judged = ", ".join(d for d, ok in sc["trained_on"].items() if ok)
        return [f"**A reduced-scale run**: it judges only the qualitative claims on the datasets whose networks are "
                f"trained on every image ({judged}); the {left_out} rows its attack budgets and training cannot judge "
                f"(distances, accuracies) are left out here and judged in {JUDGED_REPORTS}."]
    return []


def accuracy_line(tables: Path) -> str:
    rows = read_table(tables, "model_accuracy") or []
    parts = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        nets = ", ".join(f"{r['model']} {pct(r['test_accuracy'])}" for r in rows if r["dataset"] == dataset)
        parts.append(f"{dataset} (paper ~{pct(lookup(f'models.{dataset}.test_accuracy'))} standard): {nets}")
    return "; ".join(parts) or "no accuracy table"


def headline(claims: list[Claim]) -> str:
    """The result in one sentence with numbers: our attacks on the distilled networks, the earlier ones."""
    ours = [c for c in claims if c.claim_id == "cw.success" and "distilled" in c.claim]
    earlier = [c for c in claims if c.claim_id == "earlier.fails.distilled"]
    parts = []
    if ours:
        parts.append("our attacks on the distilled network: " + "; ".join(
            f"{c.claim.split(' succeeds')[0]} {c.ours.split(';')[0]}" for c in ours))
    if earlier:
        held = sum(c.verdict == HOLDS for c in earlier)
        parts.append(f"the earlier attacks as the paper ran them fail (at most 10% of pairs) in {held} of "
                     f"{len(earlier)} judged cases")
    return ("**Headline**: " + "; ".join(parts) + ".") if parts else "**Headline**: no attack result at this scale."


def build_verdicts(tables: Path, config: dict) -> dict[str, Any]:
    """The report as data: every row (claim id, section, paper, ours, interval, rule, verdict, why) and the counts.

    The rules file is read and checked first: a broken one stops here, before anything is written.
    """
    rules = rules_file.load()
    sc = scale(config)
    claims = all_claims(Inputs(tables, sc, rules))
    unknown = {c.verdict for c in claims} - set(VERDICTS)
    assert not unknown, f"claims with verdicts outside VERDICTS: {unknown}"
    left_out = 0
    if reduced(sc):
        kept = [c for c in claims if c.verdict in JUDGED]
        left_out, claims = len(claims) - len(kept), kept
    counted = [c for c in claims if c.counted]
    counts = {v: sum(c.verdict == v for c in counted) for v in VERDICTS if v != SHOWN}
    sections: dict[str, dict[str, int]] = {}
    for c in counted:
        sections.setdefault(c.section, dict.fromkeys(JUDGED, 0))
        if c.verdict in JUDGED:
            sections[c.section][c.verdict] += 1
    return {
        "profile": config["profile"],
        "scale_note": config["scale_note"],
        "rules_file": "src/cw_distillation/verdict_rules.yaml",
        "counts": counts,
        "shown_outside_the_count": sum(not c.counted for c in claims),
        "left_out": left_out,
        "sections": sections,
        "headline": headline(claims),
        "accuracy": accuracy_line(tables),
        "rows": [
            {"claim_id": c.claim_id, "section": c.section, "claim": c.claim, "paper": c.paper, "ours": c.ours,
             "interval": c.interval, "rule": c.rule, "verdict": c.verdict, "why": c.why, "counted": c.counted,
             "source": c.source}
            for c in claims
        ],
    }


def count_line(v: dict[str, Any]) -> str:
    c = v["counts"]
    total = sum(c.values())
    return (f"Verdicts ({total} counted rows): {c[HOLDS]} hold, {c[FAILS]} do not hold, {c[INCONCLUSIVE]} "
            f"inconclusive at this scale, {c[NOT_AT_SCALE]} not run at this scale, {c[MISSING]} not run; "
            f"{v['shown_outside_the_count']} more shown outside the count.")


def section_line(v: dict[str, Any]) -> str:
    return "By section (hold / do not hold / inconclusive): " + "; ".join(
        f"{s} {n[HOLDS]} / {n[FAILS]} / {n[INCONCLUSIVE]}" for s, n in v["sections"].items()) + "."


def cell(text: Any) -> str:
    return str(text).replace("|", "\\|")


def build_report(tables: Path, config: dict) -> str:
    return render(build_verdicts(tables, config), config, tables)


def render(v: dict[str, Any], config: dict, tables: Path | None = None) -> str:
    """REPORT.md from ``build_verdicts``: the opening lines, the scale, then one row per claim."""
    sc = scale(config)
    images = [*sc["n_images"].values(), *sc["max_images"].values()]
    comparable = sc["paper_training"] and sc["paper_attacks"] and min(images) >= 1000
    lines = [
        f"# Replication report: profile `{config['profile']}`",
        "",
        f"> {config['scale_note']}",
        "",
        v["headline"],
        "",
        count_line(v),
        "",
        section_line(v),
        "",
        f"Scale: training {', '.join(f'{d}: {e} epochs' for d, e in sc['epochs'].items())} (paper 50); attacked "
        f"images {', '.join(f'{d}: {n}' for d, n in sc['n_images'].items())} (paper 1000); test accuracy: "
        f"{v['accuracy']}.",
        "",
        *[line for b in banner(sc, v["left_out"]) for line in (b, "")],
        "Carlini & Wagner, *Towards Evaluating the Robustness of Neural Networks* (IEEE S&P 2017), Section VIII. "
        "Each row is one claim, judged once: the paper's value (`src/cw_distillation/reference_results.yaml`), ours "
        "with the 95% interval that decides (bootstrap over images, or exact binomial for a rate), the band of its "
        f"rule in `{v['rules_file']}` and why, and a verdict: **holds** (the whole interval inside the band), **does "
        "not hold** (wholly outside), **inconclusive at this scale** (it straddles an edge: more images would "
        "decide), **not run at this scale** (the profile's settings are too far from the paper's) or **not run**; "
        "rows marked *shown* are outside the count. The same rows are in `verdicts.json` beside this file.",
        "",
        "## Scale",
        "",
        "| setting | this profile | paper |",
        "|---|---|---|",
        f"| datasets | {', '.join(config['datasets'])} | mnist, cifar10 |",
        f"| training epochs | {', '.join(f'{d}: {e}' for d, e in sc['epochs'].items())} | 50 |",
        f"| training images (after the 5000 hold-out) | "
        f"{', '.join(f'{d}: {s or ALL}' for d, s in sc['train_subset'].items())} | all |",
        f"| attacked images | {', '.join(f'{d}: {n}' for d, n in sc['n_images'].items())}"
        f"{''.join(f'; {a}: at most {n}' for a, n in sc['max_images'].items())} | 1000 |",
        f"| L2 attack: search steps x iterations | {sc['l2_search_steps']} x {sc['l2_iterations']} | "
        f"{PAPER_L2_BUDGET} |",
        f"| temperatures of the sweep | {', '.join(map(fmt, sc['temperatures'])) or 'none (no sweep)'} | 1 to 100 |",
        _transfer_scale_row(sc["transfer"], sc["l2_search_steps"]) if sc["transfer"]
        else "| transfer experiment | none | Figs. 9 and 10 |",
        "",
        f"Training at the paper's scale: **{'yes' if sc['paper_training'] else 'no'}**; attacks at the paper's "
        f"settings: **{'yes' if sc['paper_attacks'] else 'no'}**; comparable with the paper overall: "
        f"**{'yes' if comparable else 'no'}**.",
        "",
        "## Claims",
        "",
        "| section | claim | paper | ours | 95% interval | rule (why) | verdict | why | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in v["rows"]:
        lo, hi = r["interval"]
        interval = "—" if lo is None or hi is None else f"{fmt(lo)} to {fmt(hi)}"
        verdict = f"**{r['verdict']}**" if r["counted"] else f"*{r['verdict']}*"
        cells = [r["section"], r["claim"], r["paper"], r["ours"], interval, r["rule"], verdict, r["why"] or "—",
                 f"[{r['source']}]({r['source']})"]
        lines.append("| " + " | ".join(cell(x) for x in cells) + " |")
    lines += ["", "Deviations from the paper and the released code are listed in the repository's README (section "
              "*Deviations*).", ""]
    return "\n".join([*lines, *beyond.section(tables)]) if tables is not None else "\n".join(lines)


def write_verdicts(v: dict[str, Any]) -> str:
    return json.dumps(v, indent=1, ensure_ascii=False) + "\n"
