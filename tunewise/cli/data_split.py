"""`tunewise data split`: train / val / test with no duplicate across splits, stratified."""
from __future__ import annotations

import click

from tunewise.cli.options import reader_options


def register(group: click.Group) -> None:
    group.add_command(split_cmd)


@click.command("split")
@click.argument("file", type=click.Path())
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for train.jsonl, val.jsonl, test.jsonl and manifest.json.")
@click.option("--val", type=float, default=0.1, show_default=True, help="Validation fraction.")
@click.option("--test", type=float, default=0.1, show_default=True, help="Test fraction.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Shuffle seed (same input + seed = same split).")
@click.option("--near-dup-threshold", type=float, default=0.9, show_default=True,
              help="Near-duplicate inputs (word-3-gram Jaccard >= this) stay in one split "
                   "(> 1: exact duplicates only).")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as one JSON object.")
def split_cmd(file, out_dir, val, test, seed, near_dup_threshold, fmt, task, text_column,
              label_column, encoding, as_json):
    """Split FILE into train / val / test. Duplicate and near-duplicate inputs are grouped
    first and each group goes to one split; classification is stratified by label, NER by the
    entity types present. manifest.json records counts, label distribution, seed and the
    input's sha256.

    \b
    tunewise data split clean.jsonl -o splits/
    tunewise data split clean.jsonl -o splits/ --val 0.15 --test 0.15 --seed 1
    """
    from tunewise.quality.commands import split
    manifest = split(file, out_dir, val=val, test=test, seed=seed, format=fmt, task=task,
                     near_dup_threshold=near_dup_threshold, text_column=text_column,
                     label_column=label_column, encoding=encoding)
    if as_json:
        from tunewise.cli.output import emit_json
        emit_json(manifest)
        return 0
    _render(manifest, out_dir)
    return 0


def _render(m: dict, out_dir: str) -> None:
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    splits = ("train", "val", "test")
    table = Table(title=f"split: {escape(str(out_dir))} (seed {m['seed']}, task {m['task']})",
                  title_justify="left")
    table.add_column("")
    for s in splits:
        table.add_column(s, justify="right")
    table.add_row("[bold]rows[/]", *(f"{m['counts'][s]:,}" for s in splits))
    dist = m.get("label_distribution")
    if dist:
        labels = sorted({k for s in splits for k in dist[s]})
        for label in labels[:30]:
            cells = []
            for s in splits:
                c, tot = dist[s].get(label, 0), max(m["counts"][s], 1)
                cells.append(f"{c:,} ({100 * c / tot:.0f}%)")
            table.add_row(escape(label), *cells)
        if len(labels) > 30:
            table.add_row(f"... {len(labels) - 30} more", "", "", "")
    console.print(table)
    g = m["duplicate_groups"]
    console.print(f"{g['multi_row_groups']:,} groups of duplicate/near-duplicate inputs "
                  f"({g['rows_in_multi_row_groups']:,} rows) kept within one split each; "
                  f"manifest: {escape(str(out_dir))}/manifest.json")
