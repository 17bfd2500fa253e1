"""CI's closing line, added up from the JUnit XML reports (pytest's --junitxml) in a folder:
`total: N passed, N failed, N skipped`, errors counted as failed.

Usage: python3 .ci/totals.py DIR STATUS. Exits with STATUS (make's) if it is not 0, else 1
if any test failed or none passed, else 0. Standard library only: it runs before any venv
may exist.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def totals(folder: Path) -> dict[str, int]:
    """Return the passed, failed (failures and errors) and skipped tests of folder's reports."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in sorted(folder.glob("*.xml")):  # our own pytest's: no untrusted XML
        for suite in ET.parse(report).getroot().iter("testsuite"):  # noqa: S314
            for name in counts:
                counts[name] += int(suite.get(name, 0))
    failed = counts["failures"] + counts["errors"]
    passed = counts["tests"] - failed - counts["skipped"]
    return {"passed": passed, "failed": failed, "skipped": counts["skipped"]}


def main(folder: str, status: str) -> int:
    found = totals(Path(folder))
    print(f"total: {found['passed']} passed, {found['failed']} failed, {found['skipped']} skipped")
    return int(status) or (1 if found["failed"] or not found["passed"] else 0)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
