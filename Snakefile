# Carlini & Wagner (S&P 2017), Section VIII: evaluating defensive distillation.
# A table of contents: the rules live in workflow/rules/, the science in src/.


# The workflow config: the --configfile files on the command line (config/<profile>.yaml, then any
# of your own), merged in order over the schema's defaults, which are the paper's settings; with
# none, the default profile config.yaml (quick). A profile never inherits another's values.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/attacks.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/crosscheck.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/store.smk"


rule all:
    default_target: True
    input:
        all_outputs(),


# Every table, figure and REPORT.md of the profile (make figures: from the store alone).
rule figures:
    input:
        paper_outputs(),
        f"{OUTPUTS}/REPORT.md",
        compared_outputs(),


# The tables its networks alone make: test accuracy and logit sizes (make figures TARGET=network_tables:
# a profile whose networks are stored before its attacks have run).
rule network_tables:
    input:
        network_tables(),


# A manifest rewritten by this run leaves the lineage nodes only its old version referenced:
# remove them once every job has finished (while jobs run, one may be writing nodes).
onsuccess:
    print(f"{OUTPUTS}: {prune_lineage(OUTPUTS)} unreferenced lineage node(s) removed")
