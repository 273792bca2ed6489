"""Second opinions from system programs (poppler's pdfsig, libxml2's xmllint), and the in-Python checks that
`make test` relies on without them.

The suite itself needs only Python: the pain.001 files are validated against the ISO 20022 XSD by lxml's
XMLSchema (its wheel carries libxml2), which is not the validator that wrote them (sepaxml uses xmlschema). The
system programs are independent second opinions: a developer without them sees the tests skipped with the
reason; CI (REQUIRE_SYSTEM_TOOLS=1, or CI set) installs them and fails when one is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

PAIN001_XSD = resources.files("sepaxml") / "schemas" / "pain.001.001.03.xsd"


def required_here() -> bool:
    return os.environ.get("REQUIRE_SYSTEM_TOOLS") == "1" or bool(os.environ.get("CI"))


def system_tool(program: str, debian_package: str, purpose: str) -> str:
    """The path of `program`, or a skip (locally) / failure (CI) that says how to get it."""
    path = shutil.which(program)
    if path:
        return path
    reason = f"{program} is not installed (apt-get install -y {debian_package}): {purpose} skipped"
    if required_here():
        pytest.fail(reason.replace("skipped", "required in CI"))
    pytest.skip(reason)


@cache
def _pain001_schema() -> etree.XMLSchema:
    with resources.as_file(PAIN001_XSD) as path:
        return etree.XMLSchema(etree.parse(str(path)))


def pain001_errors(xml: bytes | str) -> list[str]:
    """Schema errors of a pain.001.001.03 document (empty when valid), from lxml's XMLSchema."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        doc = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    schema = _pain001_schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def xmllint_errors(xml: bytes | str, tmp_path: Path, name: str = "pain001.xml") -> str | None:
    """libxml2's xmllint as a second opinion: None when it accepts the file, else its complaint."""
    program = system_tool("xmllint", "libxml2-utils", "the second SEPA schema check")
    path = tmp_path / name
    path.write_bytes(xml.encode("utf-8") if isinstance(xml, str) else xml)
    with resources.as_file(PAIN001_XSD) as xsd:
        done = subprocess.run([program, "--noout", "--schema", str(xsd), str(path)], capture_output=True, text=True)
    return None if done.returncode == 0 else done.stderr or "rejected"
