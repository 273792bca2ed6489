"""Stands in for `flask` in tests/test_setup.py: prints the PUBLIC_URL the app would use, then stops make."""
import sys
import tempfile

from portal.config import load_config

print("PUBLIC_URL=" + load_config(tempfile.mkdtemp())["PUBLIC_URL"])
sys.exit(3)
