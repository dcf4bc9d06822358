"""`tunewise data audit` and `tunewise data clean --redact` through the CLI: the report, --json
and -o, every bad input a clear message and exit 2 (no traceback), the personal-data detectors
and the redaction log."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from tunewise.data import pii


def _csv(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        w.writerows(rows)
    return path


@pytest.fixture
def train_csv(mr_reviews, tmp_path) -> Path:
    rows = [(t, "positive" if lab == "1" else "negative") for lab, t in mr_reviews[:120]]
    rows.append(("write to ann@example.org for the screener", "positive"))
    return _csv(tmp_path / "train.csv", rows)


def _no_traceback(res) -> None:
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr, res.stderr


def test_report_json_and_output_file(cli, train_csv, mr_reviews, tmp_path):
    test = _csv(tmp_path / "test.csv", [(t, lab) for lab, t in mr_reviews[500:560]])
    out = tmp_path / "audit.json"
    before = hashlib.sha256(train_csv.read_bytes()).hexdigest()
    res = cli("data", "audit", str(train_csv), "--test", str(test), "--json", "-o", str(out))
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert json.loads(out.read_text()) == {**rep, "timing": json.loads(out.read_text())["timing"]}
    names = {f["name"] for f in rep["findings"]}
    assert {"domain_classifier", "coverage", "near_duplicates", "label_balance", "off_task",
            "leakage_test", "personal_data_train"} <= names
    pd = next(f for f in rep["findings"] if f["name"] == "personal_data_train")
    assert pd["metrics"]["counts"] == {"EMAIL": 1} and pd["evidence"][0]["where"].endswith(":122")
    assert hashlib.sha256(train_csv.read_bytes()).hexdigest() == before
    human = cli("data", "audit", str(train_csv), "--test", str(test), env={"COLUMNS": "120"})
    assert human.returncode == 0 and "personal data" in human.stdout and "not checked" in human.stdout


@pytest.mark.parametrize("case", ["empty", "folder", "missing", "same_test", "same_production",
                                  "output_is_input", "no_rows", "bad_top"])
def test_bad_inputs_are_clear_messages(cli, train_csv, tmp_path, case):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = _csv(tmp_path / "header.csv", [])
    args = {
        "empty": [str(empty)],
        "folder": [str(tmp_path)],
        "missing": [str(tmp_path / "nope.csv")],
        "same_test": [str(train_csv), "--test", str(train_csv)],
        "same_production": [str(train_csv), "--production", str(train_csv)],
        "output_is_input": [str(train_csv), "-o", str(train_csv)],
        "no_rows": [str(header_only)],
        "bad_top": [str(train_csv), "--top", "-1"],
    }[case]
    res = cli("data", "audit", *args)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    _no_traceback(res)
    assert "error:" in res.stderr
    expected = {"same_test": "is the training file", "same_production": "is the training file",
                "output_is_input": "would replace", "folder": "folder"}.get(case)
    if expected:
        assert expected in res.stderr.replace("\n", " ")


def test_one_row_runs_and_says_what_it_could_not_check(cli, tmp_path):
    one = _csv(tmp_path / "one.csv", [("call me on +1 212 555 0199", "positive")])
    res = cli("data", "audit", str(one), "--json")
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    whys = " ".join(s["why"] for s in rep["not_checked"])
    assert "one training row" in whys and "at least 20 training rows" in whys
    assert rep["findings"][-1]["metrics"]["counts"] == {"PHONE": 1}


def test_clean_redact_replaces_and_logs(cli, tmp_path):
    src = _csv(tmp_path / "in.csv", [
        ("mail ann@example.org or call (212) 555-0199", "positive"),
        ("card 4111-1111-1111-1111 and key AKIAIOSFODNN7EXAMPLE", "negative"),
        ("nothing personal here at all", "positive"),
        ("iban GB82 WEST 1234 5698 7654 32 from 192.168.0.10", "negative")])
    before = src.read_bytes()
    out = tmp_path / "out.jsonl"
    res = cli("data", "clean", str(src), "-o", str(out), "--redact", "--json")
    assert res.returncode == 0, res.stderr
    texts = [json.loads(x)["messages"][0]["content"] for x in out.read_text().splitlines()]
    assert texts == ["mail <EMAIL> or call <PHONE>", "card <CARD> and key <API_KEY>",
                     "nothing personal here at all", "iban <IBAN> from <IP>"]
    log = [json.loads(x) for x in (tmp_path / "out.log.jsonl").read_text().splitlines()]
    assert [e["line"] for e in log] == [2, 3, 5]
    assert all(e["reason"] == "personal_data_redacted" and e["before"] is None for e in log)
    assert log[1]["redacted"] == {"CARD": 1, "API_KEY": 1}
    assert "ann@example.org" not in (tmp_path / "out.log.jsonl").read_text()
    assert json.loads(res.stdout)["changed"] == {"personal_data_redacted": 3}
    assert src.read_bytes() == before
    same = cli("data", "clean", str(src), "-o", str(src), "--redact")
    assert same.returncode == 2 and "would replace" in same.stderr
    _no_traceback(same)


@pytest.mark.parametrize("text,kinds", [
    ("ann.lee+news@example.co.uk", ["EMAIL"]),
    ("+44 20 7946 0958", ["PHONE"]), ("(212) 555-0199", ["PHONE"]), ("07700 900123", ["PHONE"]),
    ("4111 1111 1111 1111", ["CARD"]), ("378282246310005", ["CARD"]),
    ("DE89 3704 0044 0532 0130 00", ["IBAN"]), ("GB82WEST12345698765432", ["IBAN"]),
    ("NL91 ABNA 0417 1643 00 A", ["IBAN"]),          # a capital word after it
    ("10.0.0.12", ["IP"]), ("2001:db8::ff00:42:8329", ["IP"]),
    ("sk-proj-abcdefghijklmnopqrstuvwx1234", ["API_KEY"]), ("ghp_" + "a1B2" * 9, ["API_KEY"]),
    ('api_key = "a8f9d7s6f5g4h3j2k1l0qwerty"', ["API_KEY"]),
    # look-alikes: Luhn fails, the IBAN checksum fails, dates, versions, prices, years, times
    ("4111 1111 1111 1112", []), ("DE89 3704 0044 0532 0130 01", []), ("12/03/2004", []),
    ("version 1.2.3.4.5", []), ("$12,500,000", []), ("1999 - 2005", []), ("10:30:45", []),
    ("999.10.10.10", []), ("2003 2004 2005", []), ("978-3-16-148410-0", []),
    ("GB30 IYYF 5743 0760 4381 93", ["IBAN"]),        # its digits also pass Luhn
])
def test_detectors(text, kinds):
    assert [s.kind for s in pii.find_pii(f"see {text} now")] == kinds


def test_redact_and_mask():
    red, counts = pii.redact("a@b.io wrote from 8.8.8.8 and a@b.io again")
    assert red == "<EMAIL> wrote from <IP> and <EMAIL> again" and counts == {"EMAIL": 2, "IP": 1}
    assert pii.mask("4111111111111111") == "41************11" and pii.mask("abc") == "***"
    assert pii.luhn_ok("79927398713") and not pii.luhn_ok("79927398710")
