"""Reading and tampering with PDFs in tests."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.generic import ArrayObject, IndirectObject


def squash(text: str) -> str:
    """Text without any whitespace: table cells and long values wrap differently from one layout to another."""
    return re.sub(r"\s+", "", text)


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def signed_ranges(pdf: bytes) -> tuple[int, int, int, int]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match, "the sealed PDF has no /ByteRange"
    return tuple(int(x) for x in match.groups())


def tamper_content_stream(pdf: bytes) -> bytes:
    """Change one byte in the middle of a page's content stream (the text of a clause), inside the signed
    range and far from the header and the signature. Same length, so the file still opens."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[len(reader.pages) // 2]
    ref = page.raw_get("/Contents")
    if isinstance(ref, ArrayObject):
        ref = ref[0]
    assert isinstance(ref, IndirectObject), ref
    obj = re.search(rb"(?<![0-9])%d %d obj" % (ref.idnum, ref.generation), pdf)
    assert obj, "page content stream not found"
    start = re.compile(rb"stream\r?\n").search(pdf, obj.end()).end()
    end = pdf.index(b"endstream", start)
    position = (start + end) // 2
    first_start, first_len, _second_start, _second_len = signed_ranges(pdf)
    assert 1024 < position < first_start + first_len, "the tampered byte must be inside the signed range"
    tampered = bytearray(pdf)
    tampered[position] ^= 0x20
    return bytes(tampered)
