"""Where a file's audio really ends, read from its container's own marks, for three ways
libsndfile loses audio without a word:

- a FLAC file whose STREAMINFO header understates its length: libsndfile stops decoding at
  the header's count (a 600 s file declaring 1 s decoded to 1 s); the first and last frames'
  headers say where the audio starts and ends (``flac_frames``);
- an Ogg file cut mid-stream: libsndfile counts it by its last whole page; a whole stream
  ends with a page flagged end-of-stream, at the end of the file (``ogg_cut``);
- MP3 files joined end to end (``cat a.mp3 b.mp3``): mpg123 stops at the frame count of the
  first one's Xing / Info header; MPEG audio past the end its byte count gives is the rest
  (``mp3_joined``).

Each reads a few hundred bytes from the start and at most ``_TAIL_BYTES`` from the end of the
file: about a millisecond.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path
from typing import Any

_TAIL_BYTES = 1 << 20  # FLAC frames and Ogg pages (≤ 65 307 bytes) are far shorter
_ID3V1_BYTES = 128  # a "TAG" block some taggers append after the audio


@functools.cache
def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly if crc & top else crc << 1) & mask
        table.append(crc)
    return tuple(table)


def _crc(data: bytes, poly: int, width: int) -> int:
    """FLAC's CRCs (MSB first, initial 0): CRC-8 (poly 0x07) and CRC-16 (poly 0x8005)."""
    table, crc, shift, mask = _crc_table(poly, width), 0, width - 8, (1 << width) - 1
    for byte in data:
        crc = ((crc << 8) & mask) ^ table[(crc >> shift) ^ byte]
    return crc


def _opened(path: Path) -> Any:
    """``path`` opened for binary reading if it is a regular file (else ``OSError``)."""
    file = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb")  # a FIFO: refused, not waited on
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise OSError(f"{path!s} is not a regular file")
    return file


def _tail(path: Path, magic: bytes, size: int, head_bytes: int = 0) -> bytes | None:
    """The last ``size`` bytes of ``path`` (after its magic) if it is a regular file that starts
    with ``magic``; with ``head_bytes``, its first ``len(magic) + head_bytes`` bytes instead."""
    try:
        with _opened(path) as file:
            head = file.read(len(magic) + head_bytes)
            if head[: len(magic)] != magic or len(head) < len(magic) + head_bytes:
                return None
            if head_bytes:
                return head
            end = file.seek(0, os.SEEK_END)
            file.seek(max(end - size, len(magic)))
            return file.read(size)
    except OSError:
        return None


def _utf8_number(data: bytes, at: int) -> tuple[int, int] | None:
    """FLAC's UTF-8-like coded frame or sample number at ``data[at]``: (value, next index)."""
    first = data[at]
    if first < 0x80:
        return first, at + 1
    extra = next((n for n in range(1, 7) if first & (0x80 >> (n + 1)) == 0), None)
    if extra is None or first & 0x40 == 0 or at + extra >= len(data):
        return None
    value = first & (0x3F >> extra)
    for byte in data[at + 1 : at + 1 + extra]:
        if byte & 0xC0 != 0x80:
            return None
        value = (value << 6) | (byte & 0x3F)
    return value, at + 1 + extra


def _frame_span(data: bytes, at: int, fixed_block: int) -> tuple[int, int] | None:
    """(first sample, block size) of the FLAC frame whose header starts at ``data[at]``, or
    ``None`` when no valid header (by its CRC-8) starts there."""
    if at + 6 > len(data):
        return None
    variable, block_code, rate_code = data[at + 1] & 1, data[at + 2] >> 4, data[at + 2] & 0xF
    if block_code == 0 or rate_code == 15 or data[at + 3] >> 4 > 10 or (data[at + 3] >> 1) & 7 == 3 or data[at + 3] & 1:
        return None
    number = _utf8_number(data, at + 4)
    if number is None:
        return None
    value, i = number
    if block_code == 1:
        block = 192
    elif block_code <= 5:
        block = 576 << (block_code - 2)
    elif block_code <= 7:
        size = block_code - 5  # 1 or 2 bytes of (block size - 1)
        block, i = int.from_bytes(data[i : i + size], "big") + 1, i + size
    else:
        block = 256 << (block_code - 8)
    i += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if i >= len(data) or _crc(data[at:i], 0x07, 8) != data[i]:
        return None
    return (value if variable else value * fixed_block), block


def flac_frames(path: Path) -> int | None:
    """The frames a FLAC file's audio holds: from its first frame's first sample to its last
    frame's end, by their headers (the last frame's CRC-16 must end the file, an ID3v1 tag
    aside; the numbers need not start at 0: a file cut from a stream without re-encoding keeps
    them); ``None`` for another format or when it cannot tell (other trailing data, a frame cut
    short: libFLAC reports those itself)."""
    start = _tail(path, b"fLaC", 0, head_bytes=22)
    if start is None or start[4] & 0x7F != 0:  # STREAMINFO comes first
        return None
    fixed_block = int.from_bytes(start[10:12], "big")  # the max block size: every frame's but the last
    data, head = _tail(path, b"fLaC", _TAIL_BYTES), _first_frame(path)
    if not data or fixed_block == 0 or head is None:
        return None
    first = _frame_span(head, 0, fixed_block)
    if len(data) >= _ID3V1_BYTES and data[-_ID3V1_BYTES : -_ID3V1_BYTES + 3] == b"TAG":
        data = data[:-_ID3V1_BYTES]
    crc = int.from_bytes(data[-2:], "big")
    at = len(data) - 2
    while first is not None and (at := data.rfind(b"\xff", 0, at)) >= 0:
        if data[at + 1 : at + 2] in (b"\xf8", b"\xf9"):
            last = _frame_span(data, at, fixed_block)
            if last is not None and _crc(data[at:-2], 0x8005, 16) == crc:
                return sum(last) - first[0]
    return None


def _first_frame(path: Path) -> bytes | None:
    """The first bytes of a FLAC file's first frame, past its metadata blocks."""
    try:
        with _opened(path) as file:
            file.seek(4)
            while len(block := file.read(4)) == 4:
                end = file.seek(int.from_bytes(block[1:4], "big"), os.SEEK_CUR)
                if block[0] & 0x80:  # the last metadata block
                    file.seek(end)
                    return file.read(32)
    except (OSError, ValueError):
        return None
    return None


def ogg_cut(path: Path) -> bool:
    """True when an Ogg file does not end with a whole page flagged end-of-stream (a cut
    file, which libsndfile counts by its last whole page, silently)."""
    data = _tail(path, b"OggS", 65_307 + 27)
    if data is None:
        return False
    at = data.rfind(b"OggS")
    while at >= 0:
        page = data[at:]
        if len(page) >= 27 and page[4] == 0:  # version 0
            segments = page[27 : 27 + page[26]]
            if len(segments) == page[26] and 27 + page[26] + sum(segments) == len(page):
                return not page[5] & 0x4  # the last page, whole: flagged end-of-stream?
        at = data.rfind(b"OggS", 0, at)
    return True


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # MPEG 1, 2, 2.5
_MP3_KBPS = {
    True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG 1, Layer III
    False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG 2 and 2.5
}


def _mp3_frame_bytes(head: bytes) -> int | None:
    """The length of the MPEG Layer III frame whose 4-byte header is ``head``, or ``None``."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer, rate, kbps = (head[1] >> 3) & 3, (head[1] >> 1) & 3, (head[2] >> 2) & 3, head[2] >> 4
    if version == 1 or layer != 1 or kbps in (0, 15) or rate == 3:
        return None
    mpeg1 = version == 3
    return (144 if mpeg1 else 72) * _MP3_KBPS[mpeg1][kbps] * 1000 // _MP3_RATES[version][rate] + ((head[2] >> 1) & 1)


def _past_id3v2(file: Any, at: int) -> int:
    """``at``, or the end of the ID3v2 tag that starts there."""
    file.seek(at)
    head = file.read(10)
    if len(head) < 10 or head[:3] != b"ID3":
        return at
    size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
    return at + 10 + size + (10 if head[5] & 0x10 else 0)  # a footer


def mp3_joined(path: Path) -> int | None:
    """The byte offset of MPEG audio that follows the end an MP3's Xing / Info header gives
    (its ``bytes`` field, counted from that header's frame), or ``None``: another format, no
    such header or field, or nothing but tags after it. Two whole frames must follow."""
    try:
        with _opened(path) as file:
            first = _past_id3v2(file, 0)
            file.seek(first)
            frame = file.read(192)
            if _mp3_frame_bytes(frame) is None:
                return None
            tag = max(frame.find(b"Xing", 4, 64), frame.find(b"Info", 4, 64))
            flags = int.from_bytes(frame[tag + 4 : tag + 8], "big") if tag > 0 else 0
            if not flags & 2:  # no byte count
                return None
            count_at = tag + 8 + (4 if flags & 1 else 0)
            end = first + int.from_bytes(frame[count_at : count_at + 4], "big")
            at = _past_id3v2(file, end)  # a second file's own tag
            file.seek(at)
            head = file.read(4)
            length = _mp3_frame_bytes(head)
            if length is None:
                return None
            file.seek(at + length)
            return end if _mp3_frame_bytes(file.read(4)) is not None else None
    except OSError:
        return None
