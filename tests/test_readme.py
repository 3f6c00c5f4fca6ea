"""The README documents every command and every option the CLI has."""

import typer.main

from harness.cli import app

from conftest import REPO


def test_every_command_and_option_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():
        if f"harness {name}" not in readme:
            missing.append(f"harness {name}")
        for param in command.params:
            for opt in param.opts:
                if (
                    opt.startswith("--")
                    and opt != "--help"
                    and f"`{opt}" not in readme
                    and f"{opt}`" not in readme
                    and f" {opt}" not in readme
                ):
                    missing.append(f"harness {name} {opt}")
    assert not missing, f"not in README.md: {missing}"
