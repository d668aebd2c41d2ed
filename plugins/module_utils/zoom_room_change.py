"""The read -> desired -> apply -> re-read -> verify (-> put back) cycle every changing module shares.

A "layer" is one mechanism on the host (an nftables ruleset, ufw, /etc/environment, one
macOS network service) with the surface: name, read(), apply(state), matches(now, wanted),
render(state). Modules compute `after` from `before` with their own pure logic.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence


def render_states(layers: Sequence[Any], states: dict[str, Any]) -> str:
    return "".join(f"{layer.name}:\n{layer.render(states[layer.name])}" for layer in layers)


def planned_change(layers: Sequence[Any], before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """changed, a diff a person reads (--diff), and the machine-readable backup of `before`."""
    result: dict[str, Any] = {"changed": after != before, "backup": before}
    if result["changed"]:
        result["diff"] = {"before": render_states(layers, before), "after": render_states(layers, after)}
    return result


def restore_target(before: dict[str, Any], restore: dict[str, Any]) -> dict[str, Any]:
    """`after` for a rollback: each layer's saved state; layers the backup lacks stay as they are."""
    unknown = sorted(set(restore) - set(before))
    if unknown:
        raise ValueError(f"restore: {', '.join(unknown)} not present on this host now")
    return {name: restore.get(name, state) for name, state in before.items()}


def apply_with_rollback(layers: Sequence[Any], before: dict[str, Any], after: dict[str, Any],
                        extra_check: Callable[[], str | None] = lambda: None) -> str | None:
    """Apply `after`, re-read and verify. On a problem put `before` back; return what went wrong, or None."""
    try:
        for layer in layers:
            layer.apply(after[layer.name])
        now = {layer.name: layer.read() for layer in layers}
        mismatched = [layer.name for layer in layers if not layer.matches(now[layer.name], after[layer.name])]
        problem = f"the host did not take the change on {', '.join(mismatched)}" if mismatched else extra_check()
    except (RuntimeError, ValueError, OSError) as error:
        problem = str(error)
    if problem is None:
        return None
    for layer in reversed(layers):
        try:
            layer.apply(before[layer.name])
        except (RuntimeError, ValueError, OSError) as error:
            problem += f"; putting back {layer.name} failed too: {error}"
    return problem


class BeforeAfterLayer:
    """A backend whose apply takes (before, after), like the macOS ones, behind the layer surface."""

    def __init__(self, backend: Any):
        self.backend = backend
        self.name = backend.name

    def read(self) -> dict[str, Any]:
        return self.backend.read()

    def apply(self, after: dict[str, Any]) -> None:
        self.backend.apply(self.backend.read(), after)

    def matches(self, now: dict[str, Any], after: dict[str, Any]) -> bool:
        return now == after

    def render(self, state: dict[str, Any]) -> str:
        return self.backend.render(state)
