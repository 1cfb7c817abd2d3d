"""Screen text from snapshots with tesseract (optional: `pip install rassist[ocr]` and the
tesseract program). Without it everything else works and search says OCR is off."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

SCALE = 2  # tesseract reads small screen fonts (13 px) far better at twice the size


def unavailable() -> str | None:
    """Why OCR is off, or None if it is on."""
    if os.environ.get("RASSIST_NO_OCR"):
        return "RASSIST_NO_OCR is set"
    # Found, not imported: importing pytesseract loads numpy (~150 ms) before a command starts.
    if importlib.util.find_spec("pytesseract") is None:
        return "pytesseract is not installed (pip install 'rassist[ocr]')"
    if shutil.which("tesseract") is None:
        return "the tesseract program is not installed (e.g. apt install tesseract-ocr)"
    return None


def prepare(image):  # type: ignore[no-untyped-def]
    """Grey, dark text on light (terminals are mostly light on dark), enlarged."""
    from PIL import ImageOps

    grey = ImageOps.grayscale(image)
    histogram = grey.histogram()
    dark = sum(histogram[:128]) > sum(histogram[128:])
    if dark:
        grey = ImageOps.invert(grey)
    if SCALE != 1:
        grey = grey.resize((int(grey.width * SCALE), int(grey.height * SCALE)), resample=3)  # bicubic
    return grey


def read_text(path: Path) -> str:
    """The text on a screen image (tesseract's layout: lines as on screen)."""
    import pytesseract
    from PIL import Image

    # One thread: tesseract's OpenMP threads spin while waiting, which makes a frame 4x slower
    # on a busy machine (and the session shares the machine).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    with Image.open(path) as image:
        text = pytesseract.image_to_string(prepare(image), config="--psm 4")
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def reader() -> Callable[[Path], str] | None:
    """read_text if OCR is available, else None."""
    return read_text if unavailable() is None else None
