"""Two runs' outputs compared (cw_distillation.compare, used by make verify, the SLURM test and the
equivalence proof): a wall-clock field or table column may differ, nothing else."""

from cw_distillation.compare import content_diff

CSV = "network,norm,both,ratio,fmn_seconds\nstandard,l2,445,0.999,{t}\n"
MD = ("**caption**\n\n| network | norm | both | ratio | fmn_seconds |\n|---|---|---|---|---|\n"
      "| standard | l2 | 445 | {r} | {t} |\n")
TEX = ("\\begin{{tabular}}{{lllll}}\n\\toprule\nnetwork & norm & both & ratio & fmn\\_seconds \\\\\n\\midrule\n"
       "standard & l2 & 445 & {r} & {t} \\\\\n\\bottomrule\n\\end{{tabular}}\n")


def test_a_table_differing_only_in_a_seconds_column_is_timing_only():
    for name, text in (("t.csv", CSV), ("t.md", MD), ("t.tex", TEX)):
        a, b = text.format(t="0.0402", r="0.999").encode(), text.format(t="0.0391", r="0.999").encode()
        assert content_diff(a, b, name) == ([], ["column 5"]), name


def test_a_table_differing_in_a_result_column_is_a_real_difference():
    for name, text in (("t.md", MD), ("t.tex", TEX)):
        a, b = text.format(t="0.04", r="0.999").encode(), text.format(t="0.04", r="0.998").encode()
        real, _ = content_diff(a, b, name)
        assert real and real[0].startswith("line"), name
    assert content_diff(b"a,b\n1,2\n", b"a,b\n1,2\n3,4\n", "t.csv") == (["bytes"], [])


def test_json_wall_clock_keys_are_ignored_and_others_not():
    assert content_diff(b'{"wall_seconds": 1, "l2": 2}', b'{"wall_seconds": 3, "l2": 2}', "a.json") == (
        [], ["wall_seconds"])
    assert content_diff(b'{"l2": 2}', b'{"l2": 3}', "a.json") == (["l2"], [])
