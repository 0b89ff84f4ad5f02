"""The ``airflow-tuning`` command: ``emulator`` (offline Vertex AI + GCS) and ``validate`` (tuning data)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "emulator": ("airflow_tuning.emulator.__main__", "Run the offline Vertex AI + GCS emulator."),
    "validate": ("airflow_tuning.dataset.cli", "Validate tuning data files and report bad lines."),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print("usage: airflow-tuning {" + ",".join(COMMANDS) + "} ...\n")
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:<10} {help_text}")
        return 0 if args and args[0] in ("-h", "--help") else 2
    import importlib

    module = importlib.import_module(COMMANDS[args[0]][0])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
