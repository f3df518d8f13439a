#!/usr/bin/env python3
"""`make test-slurm`: the workflow's SLURM profile on a real one-node SLURM cluster, on this machine.

1. Starts munged, slurmctld and slurmd on 127.0.0.1 (scripts/slurm/start_cluster.sh).
2. Runs the `tiny` profile through SLURM (`--profile workflow/profiles/slurm`), every job by
   sbatch, and cancels one running job with scancel (a job killed by the scheduler): the run
   must report the rule and the SLURM job id; a rerun must finish the work without redoing any
   finished job (their outputs keep their modification times). Prints every SLURM job id.
3. Runs the same profile locally and compares the outputs: every file under results/<profile>
   and paper_outputs/<profile>, except logs, benchmark files, provenance manifests and hidden files, must have the
   same SHA-256, or differ only in wall-clock fields (`*seconds`, `*_per_second`, Keras's
   `date_saved` ..., also inside .keras/.npz archives); anything else fails, naming the files.
4. Takes the node away mid-job (slurmd and the job's processes killed): the run must say that
   the job failed because of a node failure, within a bounded time.
Always stops the daemons, even when a step fails or the script is interrupted.

    python scripts/slurm/test_slurm.py [--keep] [TARGET ...]   (root, Debian: installs SLURM if missing)
    python scripts/slurm/test_slurm.py --compare DIR_A DIR_B [--profile tiny]

Environment: CW_SLURM_TEST_TIMEOUT_S bounds each Snakemake run (default 1500 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cw_distillation import compare
from cw_distillation.files import sha256_file

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROFILE_DIR = REPO / "workflow/profiles/slurm"
TINY = REPO / "config/tiny.yaml"
RUN_TIMEOUT_S = int(os.environ.get("CW_SLURM_TEST_TIMEOUT_S", "1500"))
# Seconds before a node that stops answering is declared DOWN on the test cluster.
SLURMD_TIMEOUT_S = 10
# Local-cluster settings added to the profile: poll job status every 2 s at first (the
# plugin's default, 40 s, suits hour-long jobs, not seconds-long ones), and no account (the
# test cluster has no accounting).
# The job cancelled with scancel is the first one seen RUNNING once this fraction of the
# steps is done.
CANCEL_AFTER = 0.6
SLURM_TEST_FLAGS = ["--slurm-init-seconds-before-status-checks", "2", "--slurm-no-account"]

def say(msg: str = "") -> None:
    print(f"[test-slurm] {msg}" if msg else "", flush=True)


class Failure(Exception):
    pass


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise Failure(msg)


# ------------------------------------------------------------------------- processes


def env(cluster_conf: Path | None = None) -> dict[str, str]:
    e = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    e.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if cluster_conf is not None:
        e["SLURM_CONF"] = str(cluster_conf)
    return e


def slurm(cmd: list[str], conf: Path, timeout: int = 20) -> str:
    """A SLURM client command (squeue, scancel, sinfo ...): its stdout; bounded."""
    r = subprocess.run(cmd, env=env(conf), capture_output=True, text=True, timeout=timeout)
    return r.stdout


TARGETS: list[str] = []  # Snakemake targets (files or rule names); none: the whole workflow


def snakemake_cmd(workdir: Path, *extra: str) -> list[str]:
    return [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(TINY), *extra, *TARGETS]


def slurm_cmd(workdir: Path, *extra: str) -> list[str]:
    return snakemake_cmd(workdir, "--profile", str(PROFILE_DIR), *SLURM_TEST_FLAGS, *extra)


def scratch_dir(root: Path, name: str) -> Path:
    """A fresh working directory (every run names its config, --configfile config/tiny.yaml)."""
    d = root / name
    d.mkdir()
    return d


class Run:
    """A Snakemake run in the background, its output in a log file, bounded by RUN_TIMEOUT_S."""

    def __init__(self, cmd: list[str], cwd: Path, log: Path, conf: Path | None):
        self.log = log
        self.started = time.monotonic()
        self._fh = open(log, "w")  # noqa: SIM115 (closed in wait())
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env(conf), stdout=self._fh, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.wall_s: float | None = None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        timeout = RUN_TIMEOUT_S if timeout is None else timeout
        try:
            rc = self.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.stop()
            raise Failure(f"snakemake did not finish within {timeout:.0f} s (log: {self.log})") from None
        self.wall_s = time.monotonic() - self.started
        self._fh.close()
        return rc

    def stop(self, grace_s: float = 60) -> None:
        """Ctrl-C (Snakemake then cancels its SLURM jobs), then SIGKILL after grace_s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.wall_s = time.monotonic() - self.started
        self._fh.close()


def run_uuid(log_text: str) -> str | None:
    m = re.search(r"SLURM run ID: (\S+)", log_text)
    return m.group(1) if m else None


def our_jobs(conf: Path, uuid: str) -> list[dict[str, str]]:
    """This run's jobs as squeue lists them (finished ones too, for MinJobAge seconds)."""
    out = slurm(["squeue", "-h", "-t", "all", "--name", uuid, "-o", "%i|%T|%M|%k"], conf)
    jobs = []
    for line in out.splitlines():
        parts = line.strip().split("|", 3)
        if len(parts) == 4:
            jobs.append(dict(zip(["id", "state", "elapsed", "comment"], parts, strict=True)))
    return jobs


def elapsed_s(text: str) -> int:
    """squeue's %M ([days-][hours:]minutes:seconds) in seconds."""
    days, _, rest = text.rpartition("-")
    total = 0
    for part in rest.split(":"):
        total = total * 60 + int(part or 0)
    return total + int(days or 0) * 86400


def wait_until(what: str, fn, timeout_s: float, run: Run | None = None, every_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        if run is not None and not run.running():
            raise Failure(f"{what}: snakemake ended first (rc={run.proc.returncode}; log: {run.log})")
        time.sleep(every_s)
    raise Failure(f"{what}: not within {timeout_s:.0f} s")


# --------------------------------------------------------------------------- logs


def job_blocks(log_text: str) -> list[tuple[str, str, bool]]:
    """(rule, wildcard values joined by "_", local) of every job Snakemake started, from the log
    of a run without failures (a failed job's log, which --show-failed-logs prints, has blocks of
    its own). A local run shows every job as "localrule"."""
    jobs = []
    for m in re.finditer(r"^(local)?rule (\w+):\n((?:[ \t]+.*\n)*)", log_text, re.M):
        wc = re.search(r"^\s+wildcards: (.*)$", m.group(3), re.M)
        values = [kv.split("=", 1)[1] for kv in wc.group(1).split(", ")] if wc else []
        jobs.append((m.group(2), "_".join(values), bool(m.group(1))))
    return jobs


def steps_done(log_text: str) -> float:
    """The fraction of the run's steps done, from Snakemake's last "N of M steps" line."""
    found = re.findall(r"^(\d+) of (\d+) steps", log_text, re.M)
    return int(found[-1][0]) / int(found[-1][1]) if found else 0.0


def submissions(log_text: str) -> list[tuple[str, str, str]]:
    """(SLURM job id, rule, wildcard values joined by "_") of every sbatch the plugin reported."""
    out = []
    for m in re.finditer(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log_text):
        parts = Path(m.group(2)).parts
        i = next(k for k, p in enumerate(parts) if p.startswith("rule_"))
        wildcards = parts[i + 1] if len(parts) > i + 2 else ""
        out.append((m.group(1), parts[i].removeprefix("rule_"), wildcards))
    return out


def allocated_ids(ctld_log: Path) -> set[str]:
    """Job ids slurmctld started (by its main scheduler or by backfill)."""
    text = ctld_log.read_text(errors="replace")
    return set(re.findall(r"(?:sched: Allocate JobId=|_start_job: Started JobId=)(\d+)", text))


def block_after(text: str, pattern: str, lines: int = 6) -> str:
    m = re.search(pattern, text, re.M)
    if not m:
        return ""
    start = text.rfind("\n", 0, m.start()) + 1
    return "\n".join(text[start:].splitlines()[:lines])


# ------------------------------------------------------------------- comparisons
# (cw_distillation.compare: the same rules serve make verify and prove_code_equivalence)


def compared_files(root: Path, profile: str) -> dict[str, Path]:
    return compare.compared_files(root, profile)


def sha256(path: Path) -> str:
    return sha256_file(path)


def compare_trees(a_root: Path, b_root: Path, profile: str = "tiny") -> list[str]:
    """Compare two runs' outputs; print a summary; return the files that differ for real."""
    comparison = compare.compare_runs(a_root, b_root, profile)
    compare.report(comparison, say)
    return comparison.differ


def snapshot(root: Path) -> dict[str, tuple[int, str]]:
    """mtime and SHA-256 of every finished output under results/ and paper_outputs/ (not logs,
    not hidden files, and a manifest only where the file it describes exists)."""
    out = {}
    for top in (root / "results", root / "paper_outputs"):
        if not top.is_dir():
            continue
        for p in sorted(top.rglob("*")):
            rel = p.relative_to(root)
            if not p.is_file() or any(s.startswith(".") for s in rel.parts) or "logs" in rel.parts:
                continue
            if p.name.endswith(".prov.json") and not p.with_name(p.name.removesuffix(".prov.json")).exists():
                continue
            if "provenance" in rel.parts and rel.parts[0] == "paper_outputs":
                i = rel.parts.index("provenance")
                subject = root.joinpath(*rel.parts[:i], *rel.parts[i + 1:])
                if not subject.with_name(subject.name.removesuffix(".json")).exists():
                    continue
            out[str(rel)] = (p.stat().st_mtime_ns, sha256(p))
    return out


# ---------------------------------------------------------------------- scenarios


def scenario_slurm_with_scancel(root: Path, conf: Path, ctld_log: Path) -> tuple[Path, float, set, set]:
    """The tiny profile through SLURM; one running job cancelled by the scheduler; a rerun."""
    work = scratch_dir(root, "slurm")
    say(f"SLURM run of the tiny profile in {work} (retries 0, so that a cancelled job fails the run)")
    run1 = Run(slurm_cmd(work, "--retries", "0"), work, root / "slurm-run1.log", conf)
    try:
        uuid = wait_until("the SLURM run ID in the log", lambda: run_uuid(run1.text()), 120, run1)

        def victim():
            # Mid-run, late enough that much is finished (to check that a rerun redoes none of
            # it) and little is left (to keep the rerun short).
            if steps_done(run1.text()) < CANCEL_AFTER:
                return None
            return next((j for j in our_jobs(conf, uuid)
                         if j["state"] == "RUNNING" and elapsed_s(j["elapsed"]) >= 3), None)

        for _ in range(3):  # a job may end by itself between squeue and scancel: then another
            job = wait_until("a RUNNING job to cancel", victim, RUN_TIMEOUT_S, run1, 0.3)
            slurm(["scancel", job["id"]], conf)
            state = wait_until(f"job {job['id']} to end", lambda j=job: next(
                (x["state"] for x in our_jobs(conf, uuid) if x["id"] == j["id"]
                 and x["state"] in ("CANCELLED", "COMPLETED", "FAILED")), None), 60, None, 0.5)
            if state == "CANCELLED":
                break
        check(state == "CANCELLED", "no running job could be cancelled")
        cancelled = {"id": job["id"], "rule": re.sub(r"^rule_|_wildcards_.*$", "", job["comment"])}
        say(f"scancel {job['id']} ({job['comment']}), RUNNING for {job['elapsed']}: {state}")
        rc1 = run1.wait()
    finally:
        if run1.running():
            run1.stop()
    text1 = run1.text()
    say(f"first SLURM run: exit {rc1} after {run1.wall_s:.0f} s")
    check(rc1 != 0, "the run with a cancelled job exited 0")
    pattern = (rf"^Error in rule {cancelled['rule']}:\n\s+message: SLURM-job '{cancelled['id']}' failed, "
               r"SLURM status is: 'CANCELLED'")
    check(re.search(pattern, text1, re.M) is not None,
          f"the run did not report rule {cancelled['rule']} with SLURM job {cancelled['id']} as CANCELLED "
          f"(log: {run1.log})")
    say("Snakemake reported it:\n" + block_after(text1, r"^Error in rule " + cancelled["rule"] + ":", 4))

    before = snapshot(work)
    say(f"{len(before)} finished output files after the first run; rerunning (profile defaults)")
    run2 = Run(slurm_cmd(work), work, root / "slurm-run2.log", conf)
    rc2 = run2.wait()
    text2 = run2.text()
    say(f"rerun: exit {rc2} after {run2.wall_s:.0f} s")
    check(rc2 == 0, f"the rerun failed (log: {run2.log})")
    after = snapshot(work)
    redone = sorted(k for k, v in before.items() if after.get(k, (None,))[0] != v[0])
    check(not redone, f"the rerun rebuilt {len(redone)} finished outputs: {redone[:10]}")
    say(f"the rerun left all {len(before)} finished outputs untouched (same mtime) and made "
        f"{len(set(after) - set(before))} more")
    check(cancelled["rule"] in {r for _, r, _ in submissions(text2)},
          f"the rerun did not run rule {cancelled['rule']} again")

    # Every job went through sbatch (checked against the local run's jobs in main()), and
    # slurmctld allocated each SLURM job id the plugin reported.
    subs = submissions(text1) + submissions(text2)
    missing = {i for i, _, _ in subs} - allocated_ids(ctld_log)
    check(not missing, f"SLURM job ids not in slurmctld's log: {sorted(missing)}")
    say(f"{len(subs)} SLURM jobs (sbatch), each allocated by slurmctld:")
    for jid, rule, wc in subs:
        say(f"  SLURM job {jid:>4}  rule {rule}  {wc}")
    nothing = subprocess.run(snakemake_cmd(work, "-n"), cwd=work, env=env(conf), capture_output=True, text=True,
                             timeout=300)
    check("Nothing to be done" in nothing.stdout + nothing.stderr, "a dry run after the rerun still has work to do")
    audited = [d for d in ("results/tiny", "paper_outputs/tiny") if (work / d).is_dir()]
    for d in audited:
        audit = subprocess.run([str(BIN / "cw-distillation"), "audit", d], cwd=work, env=env(conf),
                               capture_output=True, text=True, timeout=600)
        check(audit.returncode == 0, f"audit of {d} failed:\n{audit.stdout[-3000:]}{audit.stderr[-2000:]}")
    say(f"a dry run has nothing to do, and the audit of {' and '.join(audited)} passes")
    submitted = {(rule, wc) for _, rule, wc in subs}
    # Rules Snakemake ran on the submit host (local rules such as `all`). A failed job's log,
    # printed by --show-failed-logs, has "localrule" lines of its own: those rules were submitted.
    local_rules = set(re.findall(r"^localrule (\w+):", text1 + text2, re.M)) - {r for r, _ in submitted}
    return work, run1.wall_s + run2.wall_s, submitted, local_rules


def scenario_local(root: Path) -> tuple[Path, float, set]:
    work = scratch_dir(root, "local")
    say(f"local run of the tiny profile in {work} (--cores 2)")
    run = Run(snakemake_cmd(work, "--cores", "2"), work, root / "local.log", None)
    rc = run.wait()
    check(rc == 0, f"the local run failed (log: {run.log})")
    say(f"local run: {run.wall_s:.0f} s")
    return work, run.wall_s, {(r, w) for r, w, _ in job_blocks(run.text())}


def node_processes(conf: Path) -> list[int]:
    """The job processes on the node (scontrol listpids) and their slurmstepd parents."""
    pids = set()
    for line in slurm(["scontrol", "listpids"], conf).splitlines()[1:]:
        if line.split() and line.split()[0].isdigit():
            pid = int(line.split()[0])
            pids.add(pid)
            try:
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if Path(f"/proc/{ppid}/comm").read_text().strip() == "slurmstepd":
                    pids.add(ppid)
            except (OSError, ValueError, IndexError):
                pass
    return sorted(pids)


def scenario_node_lost(root: Path, conf: Path, state: Path) -> None:
    """The node disappears mid-job: the run must name the node failure, within bounded time."""
    work = scratch_dir(root, "node-lost")
    say(f"SLURM run in {work}; the node will be taken away mid-job")
    run = Run(slurm_cmd(work), work, root / "node-lost.log", conf)
    try:
        uuid = wait_until("the SLURM run ID in the log", lambda: run_uuid(run.text()), 120, run)
        job = wait_until("a RUNNING job", lambda: next(
            (j for j in our_jobs(conf, uuid) if j["state"] == "RUNNING" and elapsed_s(j["elapsed"]) >= 2), None),
            300, run, 0.3)
        victims = node_processes(conf)
        slurmd_pid = int((state / "slurmd.pid").read_text())
        cmdline = Path(f"/proc/{slurmd_pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        check(f"{state}/" in cmdline, f"pid {slurmd_pid} is not this cluster's slurmd: {cmdline!r}")
        os.kill(slurmd_pid, signal.SIGKILL)  # the node's daemon, then everything it ran
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        say(f"killed slurmd ({slurmd_pid}) and the {len(victims)} processes of its jobs while job {job['id']} "
            f"({job['comment']}) was RUNNING")
        limit = 4 * SLURMD_TIMEOUT_S + 200  # SLURM declares the node DOWN, then the plugin's next poll
        wait_until("Snakemake reporting the node failure",
                   lambda: "failed due to a node failure" in run.text(), limit, run, 1)
        say(f"Snakemake named the node failure {time.monotonic() - t0:.0f} s after the node went away")
        # The profile resubmits a failed job once: the new job waits for a node, and so would
        # Snakemake; the test stops it here (its bounded wait).
        with contextlib.suppress(Failure):
            wait_until("the resubmitted job", lambda: slurm(["squeue", "-h", "-t", "PENDING"], conf).strip(), 30)
        pending = slurm(["squeue", "-t", "PENDING", "-o", "%.6i %.9T %.50k %r"], conf).rstrip()
    finally:
        run.stop()
    text = run.text()
    check(re.search(rf"SLURM-job '{job['id']}' failed due to a node failure", text) is not None,
          f"no node-failure message for SLURM job {job['id']} (log: {run.log})")
    say("Snakemake's message:\n" + block_after(text, r"^Error in rule .*:\n\s+message: SLURM-job '"
                                               + job["id"] + "' failed due to a node failure", 3))
    say("sinfo -R (why the node is down):\n" + slurm(["sinfo", "-R"], conf).rstrip())
    say(f"waiting for a node (the resubmission; Snakemake would wait with it):\n{pending}")
    say(f"the run was stopped (Ctrl-C) {run.wall_s:.0f} s after it started; bounded wait: {limit} s")


# ---------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (it is kept anyway on failure)")
    ap.add_argument("--compare", nargs=2, metavar="DIR", help="only compare the outputs of two run folders")
    ap.add_argument("--profile", default="tiny", help="profile name for --compare (default tiny)")
    ap.add_argument("targets", nargs="*", help="Snakemake targets (files or rule names) for every run; "
                    "default: the whole workflow")
    args = ap.parse_args()
    TARGETS[:] = args.targets
    if args.compare:
        return 1 if compare_trees(Path(args.compare[0]), Path(args.compare[1]), args.profile) else 0

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    root = Path(tempfile.mkdtemp(prefix="cw-test-slurm-"))
    state = root / "cluster"
    conf = state / "slurm.conf"
    ok = False
    t_start = time.monotonic()
    try:
        t0 = time.monotonic()
        r = subprocess.run(["bash", str(REPO / "scripts/slurm/start_cluster.sh"), str(state)],
                           env={**env(), "CW_SLURMD_TIMEOUT": str(SLURMD_TIMEOUT_S)}, timeout=900)
        check(r.returncode == 0, "the cluster did not start")
        say(f"cluster up in {time.monotonic() - t0:.1f} s")

        slurm_work, slurm_s, slurm_jobs, local_rules = scenario_slurm_with_scancel(root, conf, state / "slurmctld.log")
        local_work, local_s, all_jobs = scenario_local(root)
        local_jobs = {(r, w) for r, w in all_jobs if r not in local_rules}
        check(slurm_jobs == local_jobs, f"the jobs submitted with sbatch are not the local run's jobs: only "
              f"sbatch {sorted(slurm_jobs - local_jobs)}, only local {sorted(local_jobs - slurm_jobs)}")
        say(f"all {len(local_jobs)} jobs of the local run went through sbatch"
            + (f", besides the local rules {sorted(local_rules)} (run by Snakemake on the submit host)"
               if local_rules else ""))
        differ = compare_trees(slurm_work, local_work)
        check(not differ, f"{len(differ)} outputs differ between the SLURM and the local run (listed above)")
        scenario_node_lost(root, conf, state)
        say()
        say(f"wall time, tiny profile: local {local_s:.0f} s; through SLURM {slurm_s:.0f} s "
            f"(run with a cancelled job + rerun, {len(local_jobs)} jobs)")
        ok = True
    except Failure as e:
        say(f"FAILED: {e}")
    except subprocess.TimeoutExpired as e:
        say(f"FAILED: timed out: {e}")
    finally:
        subprocess.run(["bash", str(REPO / "scripts/slurm/stop_cluster.sh"), str(state)], timeout=120)
        if ok and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"logs and scratch folders kept in {root}")
    say(f"{'passed' if ok else 'FAILED'} in {time.monotonic() - t_start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
