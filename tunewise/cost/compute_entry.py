"""Which compute entry of the price table ($/hour) prices the hardware tunewise measured on.

``compute: auto`` (compare's default, and ``tunewise cost`` without ``--compute``) takes the entry
of the device the device policy picks: the CPU -> ``cpu-2core``; a CUDA GPU by its name (H100,
A100, L4, A10G, T4); Apple's GPU -> ``apple-laptop`` (zero marginal cost: a machine you own
already). A GPU with no entry is priced on none: the caller says so and asks for ``compute``.
"""
from __future__ import annotations

#: (substring of the GPU's name, lower case) -> price entry, most specific first
GPU_ENTRIES = (("h100", "h100-80gb"), ("a100", "a100-40gb"), ("l4", "l4"), ("a10g", "a10g"),
               ("t4", "t4"))


def compute_for_device(device=None) -> str | None:
    """The price entry for ``device`` (default: what ``--device auto`` picks), or None for a GPU
    the table has no entry for."""
    from tunewise.models.device import device_name, resolve_device
    device = resolve_device("auto") if device is None else device
    if device.type == "cpu":
        return "cpu-2core"
    if device.type == "mps":
        return "apple-laptop"
    name = device_name(device).lower()
    return next((entry for key, entry in GPU_ENTRIES if key in name), None)


def resolve_compute(compute: str | None, device=None) -> str:
    """``compute`` as given, or for ``auto`` / None the entry of the device (a GPU without an
    entry: UsageError asking for one)."""
    if compute not in (None, "", "auto"):
        return compute
    found = compute_for_device(device)
    if found is None:
        from tunewise.errors import UsageError
        from tunewise.models.device import device_label
        raise UsageError(f"no price entry for {device_label(device)}: its $/hour is unknown",
                         fix="name one with cost.compute / --compute (t4, l4, a10g, a100, h100, "
                             "cpu) or add yours to a price file (cost.prices_file / --prices)")
    return found
