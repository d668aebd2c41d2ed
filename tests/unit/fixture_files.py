"""Recorded command output: fixture files start with `# source:` / `# command:` lines that say where they come from."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(relative: str) -> str:
    """The recorded output without its provenance header."""
    lines = (FIXTURES / relative).read_text().splitlines(keepends=True)
    while lines and lines[0].startswith(("# source:", "# command:", "# setup:")):
        lines.pop(0)
    return "".join(lines)
