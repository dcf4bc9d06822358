"""`tunewise export`: the adapter folder PEFT (and vLLM's --lora-modules) loads, the merged model,
and the refusals."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

from tests.serve_support import tiny_runs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("export-runs"))["a"]


def _logits(model, ids):
    model.eval()
    with torch.no_grad():
        return model(ids).logits


def test_adapter_export_loads_with_peft_and_matches_the_run(run, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunewise.runs import export_run
    from tunewise.runs import load_run
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    m = export_run(run, tmp_path / "exp")
    out = tmp_path / "exp"
    assert m["kind"] == "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                 "tunewise-export.json"):
        assert (out / name).is_file(), name
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == m["base_model_path"]
    assert cfg["peft_type"] == "LORA" and cfg["r"] == 8
    for name, digest in m["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    # PEFT loads the folder onto the base model it names, with the run's outputs
    base = AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"])
    peft_model = PeftModel.from_pretrained(base, str(out))
    lm, _ = load_run(run)
    ids = torch.tensor([[1, 5, 9, 200, 3000]])
    assert torch.allclose(_logits(peft_model, ids), _logits(lm.model, ids), atol=1e-5)
    fresh = AutoModelForCausalLM.from_pretrained(cfg["base_model_name_or_path"])
    assert not torch.allclose(_logits(fresh, ids), _logits(lm.model, ids), atol=1e-4)
    assert AutoTokenizer.from_pretrained(str(out)).chat_template
    # the run directory was only read
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


def test_merged_export_is_a_plain_model_with_the_adapter_folded_in(run, tmp_path):
    from transformers import AutoModelForCausalLM

    from tunewise.runs import export_run
    from tunewise.runs import load_run
    m = export_run(run, tmp_path / "merged", merged=True)
    out = tmp_path / "merged"
    assert m["kind"] == "merged" and (out / "model.safetensors").is_file()
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    lm, _ = load_run(run)
    ids = torch.tensor([[1, 5, 9, 200, 3000]])
    assert torch.allclose(_logits(merged, ids), _logits(lm.model, ids), atol=1e-4)
    assert not (run / "merged").exists()


def test_export_refuses_to_overwrite_and_names_bad_runs(run, tmp_path):
    from tunewise.errors import TunewiseError
    from tunewise.runs import export_run
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    with pytest.raises(TunewiseError, match="not an empty folder"):
        export_run(run, tmp_path / "full")
    assert (tmp_path / "full" / "x.txt").read_text() == "keep me"
    with pytest.raises(TunewiseError, match="not a tunewise run directory"):
        export_run(tmp_path, tmp_path / "new")


def test_export_cli_json(run, tmp_path, cli):
    r = cli("export", str(run), "--to", str(tmp_path / "e"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["kind"] == "adapter" and out["to"] == str(tmp_path / "e")
    r = cli("export", str(run), "--to", str(tmp_path / "e"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "not an empty folder" in r.stderr


def test_export_refuses_a_folder_inside_the_run_and_names_a_file_in_the_path(run, tmp_path, cli):
    # the run folder is only read: --to RUN/sub would write into it (audit L16)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    r = cli("export", str(run), "--to", str(run / "exp"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "inside the run folder" in r.stderr and "--to" in r.stderr
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
    # a path through a file says which part is the file, not "File exists" (audit L13)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    r = cli("export", str(run), "--to", str(blocker / "x"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "File exists" not in r.stderr and f"{blocker} is a file, not a folder" in r.stderr
