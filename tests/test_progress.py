"""Progress that moves: the status line is redrawn on its own clock, not only when a pair ends."""

from cw_distillation.progress import Progress


def test_status_redraws_without_any_pair_finishing(capsys):
    with Progress(450, desc="C&W L2") as bar:
        bar.every = 0.0  # a log file's 30 s, shortened
        bar.status(steps="12,345/40,500,000 at most", in_flight=450)
    err = capsys.readouterr().err
    assert "C&W L2" in err and "0/450" in err and "steps=12,345/40,500,000 at most" in err
