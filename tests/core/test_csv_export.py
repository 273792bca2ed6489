"""Every CSV cell is safe to open in a spreadsheet; numbers stay numbers."""
import csv
import io

import pytest

from core.csv_export import csv_text, safe_cell


@pytest.mark.parametrize("value", ['=1+1', '+41 22 000', '-2+3+cmd|" /C calc"!A0', '@SUM(A1:A9)', '\t=1', '\r=1',
                                   '\uff1dHYPERLINK("x")'])
def test_a_formula_start_is_neutralised(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.34", "+5", "0.00", "Courtage Alpha", "", "a=b", 42, None])
def test_other_cells_are_left_alone(value):
    assert safe_cell(value) == value


def test_the_written_file_reads_back_as_text():
    text = csv_text(["name", "amount"], [["=HYPERLINK(\"http://x\")", "-600.00"]])
    assert list(csv.reader(io.StringIO(text))) == [["name", "amount"], ["'=HYPERLINK(\"http://x\")", "-600.00"]]
