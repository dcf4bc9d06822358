"""The dated price table: shipped entries, user overrides, did-you-mean, validation."""
from __future__ import annotations

import pytest

from tunewise.cost.prices import TOKEN_FIELDS, get_price, load_prices
from tunewise.errors import ConfigError, UnknownNameError


def test_every_entry_is_dated_and_sourced():
    table = load_prices()
    assert table.snapshot
    for name, entry in table.entries.items():
        assert entry.source, name
        assert len(entry.date) == 7 and entry.date[4] == "-", (name, entry.date)


def test_api_models_have_all_token_prices_and_an_encoding():
    table = load_prices()
    api = table.names("api")
    assert "gpt-4o-mini-2024-07-18" in api and "gpt-3.5-turbo-0125" in api
    tunable = [n for n in api if table.get(n).fine_tunable]
    assert "gpt-4o-mini-2024-07-18" in tunable and "gpt-6-luna" in api
    assert "gpt-6-luna" not in tunable                  # prompted only: no fine-tuning prices
    for name in api:
        e = table.get(name)
        assert isinstance(e.base_input, float | int) and isinstance(e.base_output, float | int)
        assert e.encoding in ("o200k_base", "cl100k_base")
        assert e.successor is None or e.successor in table, (name, e.successor)
    for name in tunable:
        e = table.get(name)
        assert all(isinstance(getattr(e, f), float | int) for f in TOKEN_FIELDS), name
        # fine-tuned inference costs more than base inference; training costs more than input
        assert e.ft_input >= e.base_input and e.ft_output >= e.base_output
    assert table.get("gpt-3.5-turbo-0125").encoding == "cl100k_base"
    assert table.get("gpt-4.1-mini-2025-04-14").encoding == "o200k_base"


def test_aliases_and_compute_entries():
    assert get_price("gpt-4o-mini").name == "gpt-4o-mini-2024-07-18"
    for short in ("cpu", "t4", "l4", "a10g", "a100", "h100"):
        e = get_price(short)
        assert e.pricing == "compute" and e.usd_per_hour > 0
    local = get_price("smollm2-135m-instruct")
    assert local.pricing == "local" and get_price(local.compute).pricing == "compute"


def test_unknown_name_suggests_close_ones():
    with pytest.raises(UnknownNameError) as err:
        get_price("gpt-4o-mnii")
    assert "did you mean" in err.value.fix and "gpt-4o-mini" in err.value.fix


def test_user_file_overrides_single_fields_and_adds_entries(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text(
        "models:\n"
        "  gpt-4o-mini-2024-07-18: {training: 2.5, date: '2026-01'}\n"
        "  my-model: {training: 1, ft_input: 1, ft_output: 1, base_input: 1, base_output: 1,\n"
        "             source: contract, date: '2026-01'}\n"
        "compute:\n  h100-80gb: {usd_per_hour: 2.0}\n")
    table = load_prices(user)
    e = table.get("gpt-4o-mini")
    assert e.training == 2.5 and e.date == "2026-01"
    assert e.ft_input == load_prices().get("gpt-4o-mini").ft_input   # untouched field kept
    assert table.get("my-model").source == "contract"
    assert table.get("h100").usd_per_hour == 2.0
    # the shipped table itself is unchanged
    assert load_prices().get("gpt-4o-mini").training != 2.5


def test_env_variable_override(tmp_path, monkeypatch):
    user = tmp_path / "env.yaml"
    user.write_text("compute:\n  t4: {usd_per_hour: 0.2}\n")
    monkeypatch.setenv("TUNEWISE_PRICES", str(user))
    assert get_price("t4").usd_per_hour == 0.2


def test_bad_user_file_lists_every_problem(tmp_path):
    user = tmp_path / "bad.yaml"
    user.write_text(
        "models:\n"
        "  gpt-4o-mini-2024-07-18: {training: -1, colour: red}\n"
        "  half-done: {training: 1}\n"
        "aliases: {x: nowhere}\n"
        "pricez: {}\n")
    with pytest.raises(ConfigError) as err:
        load_prices(user)
    assert len(err.value.problems) == 1 and "pricez" in err.value.problems[0]
    user.write_text(
        "models:\n"
        "  gpt-4o-mini-2024-07-18: {training: -1, colour: red}\n"
        "  half-done: {training: 1}\n"
        "aliases: {x: nowhere}\n")
    with pytest.raises(ConfigError) as err:
        load_prices(user)
    text = "\n".join(err.value.problems)
    assert "training" in text and "colour" in text and "half-done" in text and "nowhere" in text
    assert str(user) in err.value.message


def test_missing_user_file_is_a_clear_error(tmp_path):
    from tunewise.errors import InputError
    with pytest.raises(InputError):
        load_prices(tmp_path / "nope.yaml")
