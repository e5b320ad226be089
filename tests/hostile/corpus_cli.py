"""The hostile CLI corpus: one row per case — id, the command line (a function of the context), the exit code
and what stderr (or stdout, for a success) must say.  Exit 2 is a typed error: one line, ``error [code]: …``.

``c``: ``model`` (a saved model directory), ``csv(text)`` (a file holding ``text``), ``tmp`` (a fresh folder),
``train`` (the model's training table as a CSV), ``damaged(edit)`` (a changed copy of the model directory).
"""

from __future__ import annotations

import json

from .corpus_api import drop_key, set_key, write

ROW = "age,owner,usage,joined\n30,bob,0.5,2021-05-01\n"


def fit(c, *extra):
    return ["fit", c.train, "-t", "churn", "--time-budget", "20", "--families", "lightgbm", "--quiet",
            "--report-seconds", "0", "--out", c.tmp / "out", *extra]  # fmt: skip


def json_out(check):
    """stdout is strict JSON (no NaN) and ``check(parsed)`` holds."""

    def ok(stdout: str) -> bool:
        return check(json.loads(stdout, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name))))

    return ok


# fmt: off
CASES: list[tuple] = [
    # ---- fit: refused before any search
    ("fit-no-target", lambda c: ["fit", c.train], 2, "[config_error]"),
    ("fit-no-data", lambda c: ["fit", "-t", "churn"], 2, "[config_error]"),
    ("fit-missing-file", lambda c: ["fit", c.tmp / "nope.csv", "-t", "churn"], 2, "[data_read_error]"),
    ("fit-bad-extension", lambda c: ["fit", c.tmp / "t.xlsx", "-t", "churn"], 2, "[unsupported_format]"),
    ("fit-unknown-target", lambda c: [a if a != "churn" else "chrun" for a in fit(c)], 2, "[target_not_found]"),
    ("fit-time-budget-inf", lambda c: fit(c, "--time-budget", "inf"), 2, "[config_error]"),
    ("fit-time-budget-nan", lambda c: fit(c, "--time-budget", "nan"), 2, "[config_error]"),
    ("fit-time-budget-zero", lambda c: fit(c, "--time-budget", "0"), 2, "[config_error]"),
    ("fit-time-budget-negative", lambda c: fit(c, "--time-budget", "-3"), 2, "[config_error]"),
    ("fit-time-budget-text", lambda c: fit(c, "--time-budget", "soon"), 2, "Invalid value"),
    ("fit-out-is-a-file", lambda c: fit(c, "--out", c.csv("x")), 2, "[artifact_error]"),
    ("fit-out-not-a-model-dir", lambda c: fit(c, "--out", c.csv("x").parent), 2, "[artifact_error]"),
    ("fit-workdir-is-a-file", lambda c: fit(c, "--workdir", c.csv("x")), 2, "[storage_error]"),
    ("fit-unknown-metric", lambda c: fit(c, "--metric", "acc"), 2, "[config_error]"),
    ("fit-unknown-task", lambda c: fit(c, "--task", "ranking"), 2, "[config_error]"),
    ("fit-unknown-family", lambda c: fit(c, "--families", "lightgbmm"), 2, "[config_error]"),
    ("fit-alias-without-register", lambda c: fit(c, "--alias", "champion"), 2, "[config_error]"),
    ("fit-bad-clean", lambda c: fit(c, "--clean", "nonsense"), 2, "[config_error]"),
    ("fit-bad-clean-key", lambda c: fit(c, "--clean", "dropp=age"), 2, "[config_error]"),
    ("fit-bad-memory-limit", lambda c: fit(c, "--memory-limit", "lots"), 2, "[config_error]"),
    ("fit-bad-tracking", lambda c: fit(c, "--tracking", "elsewhere"), 2, "[config_error]"),
    ("fit-bad-cluster", lambda c: fit(c, "--cluster", "mars"), 2, "[config_error]"),
    ("fit-dup-header", lambda c: ["fit", c.csv("a,a,churn\n1,2,x\n3,4,y\n"), "-t", "churn"], 2, "[data_read_error]"),
    ("fit-not-utf8", lambda c: ["fit", c.csv(b"a,churn\n\xff,x\n"), "-t", "churn"], 2, "[data_read_error]"),
    ("fit-empty-file", lambda c: ["fit", c.csv(""), "-t", "churn"], 2, "[empty_data]"),
    ("fit-header-only", lambda c: ["fit", c.csv("a,churn\n"), "-t", "churn"], 2, "[empty_data]"),
    ("fit-id-like-target", lambda c: ["fit", c.csv("x,churn\n" + "".join(f"{i},c{i}\n" for i in range(200))), "-t",
                                      "churn", "--time-budget", "5"], 2, "[target_error]"),
    ("fit-sql-without-db", lambda c: ["fit", "-t", "churn", "--sql", "select 1"], 2, "error"),
    ("fit-sql-drop", lambda c: ["fit", "-t", "churn", "--sql", "drop table x", "--db", f"sqlite:///{c.tmp}/d.db"], 2,
     "error"),
    # ---- predict / evaluate / info / report
    ("predict-missing-model", lambda c: ["predict", c.tmp / "nope", c.csv(ROW)], 2, "error"),
    ("predict-missing-data", lambda c: ["predict", c.model, c.tmp / "nope.csv"], 2, "[data_read_error]"),
    ("predict-header-only", lambda c: ["predict", c.model, c.csv("age,owner,usage,joined\n")], 2, "[empty_data]"),
    ("predict-missing-column", lambda c: ["predict", c.model, c.csv("age,owner\n1,bob\n")], 2, "[columns_mismatch]"),
    ("predict-text-in-number", lambda c: ["predict", c.model, c.csv("age,owner,usage,joined\nx,bob,1,2021-01-01\n")],
     2, "[column_type]"),
    ("predict-inf-and-huge", lambda c: ["predict", c.model, c.csv("age,owner,usage,joined\n1e308,bob,inf,2021-01-01\n"
                                                                  "-1e308,bob,3.5e38,2021-01-01\n")], 0,
     lambda out: out.splitlines()[0].startswith("prediction") and len(out.splitlines()) == 3),
    ("predict-damaged-model", lambda c: ["predict", c.damaged(drop_key("files")), c.csv(ROW)], 2,
     "[artifact_integrity]"),
    ("evaluate-one-row-json", lambda c: ["evaluate", c.model, c.csv("age,owner,usage,joined,churn\n"
                                                                    "30,bob,0.5,2021-05-01,yes\n"), "--json"], 0,
     json_out(lambda r: r["roc_auc"] is None and r["n_rows"] == 1)),
    ("evaluate-no-target", lambda c: ["evaluate", c.model, c.csv(ROW)], 2, "[target_not_found]"),
    ("evaluate-unknown-class", lambda c: ["evaluate", c.model, c.csv("age,owner,usage,joined,churn\n"
                                                                     "30,bob,0.5,2021-05-01,maybe\n")], 2, "error"),
    ("info-damaged-manifest", lambda c: ["info", c.damaged(write("manifest.json", b"[]"))], 2, "[artifact_integrity]"),
    ("info-bad-task", lambda c: ["info", c.damaged(set_key("task", "ranking"))], 2, "error"),
    ("info-not-a-model", lambda c: ["info", c.tmp], 2, "[artifact_error]"),
    ("report-data-without-target", lambda c: ["report", c.model, "--data", c.csv(ROW), "--out", c.tmp / "r.html"], 2,
     "[target_not_found]"),
    # ---- profile / check
    ("profile-huge-values", lambda c: ["profile", c.csv("a,b\n1e308,1\n-1e308,2\ninf,3\n4,4\n"), "--out",
                                       c.tmp / "p.html"], 0, lambda out: "report written" in out),
    ("profile-unknown-target", lambda c: ["profile", c.train, "-t", "chrun", "--out", c.tmp / "p.html"], 2,
     "[target_not_found]"),
    ("check-test-shares-no-column", lambda c: ["check", c.train, "--test", c.csv("zz,yy\n1,2\n")], 2,
     "[columns_mismatch]"),
    ("check-bad-fail-on", lambda c: ["check", c.train, "--fail-on", "sometimes"], 2, "[config_error]"),
    ("check-inf-json", lambda c: ["check", c.csv("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)) + "inf,1\n"),
                                  "--json"], 0, json_out(lambda fs: any(f["check"] == "non_finite" for f in fs))),
    # ---- monitor / feedback / retrain settings
    ("monitor-unknown-model", lambda c: ["monitor", "nope"], 2, "error"),
    ("monitor-bad-window", lambda c: ["monitor", c.model, "--window", "soon"], 2, "[config_error]"),
    ("monitor-bad-reference", lambda c: ["monitor", c.model, "--reference", "yesterday"], 2, "[config_error]"),
    ("monitor-config-alpha-7", lambda c: ["monitor", c.model, "--config", c.csv("[monitor]\nalpha = 7\n")], 2,
     "[config_error]"),
    ("monitor-config-unknown-key", lambda c: ["monitor", c.model, "--config", c.csv("[monitor]\nalpah = 0.1\n")], 2,
     "[config_error]"),
    ("monitor-config-not-toml", lambda c: ["monitor", c.model, "--config", c.csv("[monitor\n")], 2, "[config_error]"),
    ("feedback-no-columns", lambda c: ["feedback", c.model, c.csv("a,b\n1,2\n")], 2, "[invalid_feedback]"),
    ("feedback-made-up-ids", lambda c: ["feedback", c.model, c.csv("prediction_id,actual\n" + "0" * 32 + "-1,yes\n")],
     2, "[invalid_feedback]"),
    ("retrain-alpha-7", lambda c: ["retrain", "churn", "--data", c.train, "--alpha", "7"], 2, "[config_error]"),
    ("retrain-unknown-model", lambda c: ["retrain", "nope", "--data", c.train], 2, "error"),
    ("retrain-new-classes", lambda c: ["retrain", c.registered(), "--data", c.csv(
        "age,owner,usage,joined,churn\n" + "".join(f"{i},bob,0.5,2021-05-01,{'maybe' if i % 3 else 'yes'}\n"
                                                    for i in range(40)))], 2, "[retrain_error]"),
    ("retrain-header-only", lambda c: ["retrain", c.registered(), "--data", c.csv("age,owner,usage,joined,churn\n")],
     2, "[empty_data]"),
    ("retrain-no-target", lambda c: ["retrain", c.registered(), "--data", c.csv(ROW)], 2, "[target_not_found]"),
    # ---- registry
    ("register-missing-dir", lambda c: ["models", "register", c.tmp / "nope", "m"], 2, "[artifact_error]"),
    ("register-not-a-model", lambda c: ["models", "register", c.tmp, "m"], 2, "[artifact_error]"),
    ("register-bad-name", lambda c: ["models", "register", c.model, "../evil"], 2, "[registry_error]"),
    ("register-bad-alias", lambda c: ["models", "register", c.model, "m", "--alias", "bad alias!"], 2,
     "[registry_error]"),
    ("register-damaged", lambda c: ["models", "register", c.damaged(drop_key("files")), "m"], 2,
     "[artifact_integrity]"),
    ("register-unlisted-file", lambda c: ["models", "register", c.damaged(write("models/x.skops", b"x")), "m"], 2,
     "[artifact_integrity]"),
    ("promote-unknown", lambda c: ["models", "promote", "nope", "1"], 2, "[model_not_found]"),
    ("rollback-unknown", lambda c: ["models", "rollback", "nope"], 2, "[model_not_found]"),
    ("serve-unknown-model", lambda c: ["serve", "nope@champion", "--port", "1"], 2, "error"),
    ("serve-missing-dir", lambda c: ["serve", c.tmp / "nope", "--port", "1"], 2, "error"),
]
# fmt: on
