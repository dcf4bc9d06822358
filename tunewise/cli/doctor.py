"""`tunewise doctor`: the machine, its devices and what the device policy will do; a thin layer
over ``tunewise.models.doctor.doctor``."""
from __future__ import annotations

import click


def register(app: click.Group) -> None:
    app.add_command(doctor_cmd)


def _size(n: int) -> str:
    return "-" if not n else (f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M")


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def doctor_cmd(as_json):
    """Python, torch build, devices and their memory, bf16/fp16 support, optional extras, the
    built-in models (kind, licence, installed), the model cache, what --device auto picks, and the largest model that should fine-tune here with
    LoRA / QLoRA (a stated rule, not a measurement).

    \b
    tunewise doctor
    tunewise doctor --json
    """
    from rich.markup import escape
    from rich.table import Table

    from tunewise.cli.output import console, emit_json
    from tunewise.models.doctor import doctor
    rep = doctor()
    if as_json:
        emit_json(rep)
        return 0
    t = rep["torch"]
    console.print(f"python {rep['python']} on {escape(rep['platform'])}; torch {t['version']} "
                  f"(CUDA build: {t['cuda'] or 'no'}, MPS build: {'yes' if t['mps_built'] else 'no'})")
    table = Table(title="devices", title_justify="left")
    for col in ("device", "name", "memory", "bf16", "fp16", "LoRA up to", "QLoRA up to"):
        table.add_column(col, justify="right" if col in ("memory",) else "left")
    for d in rep["devices"]:
        table.add_row(d["device"], escape(str(d["name"])), f"{d['memory_gib']} GiB",
                      "yes" if d["bf16"] else "no", "yes" if d["fp16"] else "no",
                      _size(d["lora_max_params"]), _size(d["qlora_max_params"]))
    console.print(table)
    a = rep["auto"]
    tricks = [k for k, v in a["speed_tricks"].items() if v]
    console.print(f"--device auto picks [bold]{a['device']}[/] in {a['precision']}"
                  f"{' with loss scaling' if a['loss_scaling'] else ''}; speed tricks on: "
                  f"{', '.join(tricks) or 'none'}")
    console.print(f"largest model to fine-tune there: LoRA {_size(a['lora_max_params'])}, QLoRA "
                  f"{_size(a['qlora_max_params'])} parameters ({escape(rep['rule'])})")
    console.print("optional extras: " + ", ".join(
        f"{name} {'installed' if ok else 'not installed'}" for name, ok in rep["extras"].items()))
    for m in rep["builtin_models"]:
        if m["kind"].startswith("random"):
            continue
        state = ("converted" if m["converted"] else "installed, converted on first use") \
            if m["installed"] or m["converted"] else f"not installed: {m['install']}"
        console.print(f"model [bold]{escape(m['name'])}[/] ({m['parameters']}, {m['kind']}; "
                      f"{escape(m['license'])}): {escape(state)}")
    cache = rep["model_cache"]
    console.print(f"model cache {escape(cache['path'])}: " + (", ".join(
        f"{escape(n)} ({mib:,.0f} MiB)" for n, mib in cache["models_mib"].items()) or "empty"))
    return 0
