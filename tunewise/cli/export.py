"""`tunewise export`: a run's adapter (PEFT / vLLM layout) or merged model; a thin layer over
``tunewise.runs.export_run``."""
from __future__ import annotations

import click


@click.command("export")
@click.argument("run")
@click.option("--to", "to", required=True, type=click.Path(), metavar="DIR",
              help="new folder to write (must not exist, or be empty)")
@click.option("--merged", is_flag=True,
              help="write the base model with the adapter merged in (plain safetensors model)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object on stdout")
def export_cmd(run, to, merged, as_json):
    """Export RUN (a run directory or run id) for other tools.

    \b
    tunewise export runs/sentiment --to export/sentiment           # adapter: PEFT / vLLM
    tunewise export runs/sentiment --to export/sentiment-merged --merged
    vllm serve BASE_MODEL_DIR --enable-lora --lora-modules sentiment=export/sentiment
    """
    from tunewise.cli.output import console, emit_json
    from tunewise.runs import export_run
    manifest = export_run(run, to, merged=merged)
    if as_json:
        emit_json(manifest)
        return 0
    console.print(f"{manifest['kind']} of {manifest['run_dir']} written to {manifest['to']}",
                  highlight=False, markup=False)
    if manifest["kind"] == "adapter":
        console.print(f"serve it with vLLM: vllm serve {manifest['base_model_path']} "
                      f"--enable-lora --lora-modules NAME={manifest['to']}",
                      highlight=False, markup=False)
    else:
        console.print(f"serve it with vLLM: vllm serve {manifest['to']}",
                      highlight=False, markup=False)
    return 0


def register(app: click.Group) -> None:
    app.add_command(export_cmd)
