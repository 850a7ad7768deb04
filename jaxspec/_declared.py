"""What a file's header declares: the frames of the formats that count them, read from the
bytes (libsndfile counts a file cut mid-data by its size, silently), so that a cut or a lying
header warns (``_files.warn_if_truncated``)."""

from __future__ import annotations

import functools
import os
import re
import struct
from pathlib import Path
from typing import Any


def declared_frames(path: Path) -> int | None:
    """Frames a file's header declares, for the formats whose header counts them: RIFF/WAVE
    (RIFX, RF64 / BW64 by their ``ds64`` chunk), Wave64, AIFF / AIFF-C, Sun AU, CAF (PCM) and
    NIST SPHERE. ``None`` for other formats, a header that says "unknown" (a streamed WAV or
    AU), or no header: libsndfile counts a file cut mid-data by its size, silently."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
            if len(head) < 16:
                return None
            if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _after(file, 12, _aiff_frames)
            if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"BW64") and head[8:12] == b"WAVE":
                return _after(file, 12, functools.partial(_wav_frames, order=">" if head[:4] == b"RIFX" else "<"))
            if head[:4] == b"riff" and head[4:16] == _W64_TAIL:
                return _after(file, 40, _w64_frames)
            if head[:4] in (b".snd", b"dns."):
                return _au_frames(head + file.read(8))
            if head[:8] == b"caff\x00\x01\x00\x00":
                return _after(file, 8, _caf_frames)
            if head[:8] == b"NIST_1A\n":
                return _nist_frames(head + file.read(1024 - 16))
    except (OSError, struct.error, ValueError, OverflowError):  # a seek past any offset: a lying size
        return None
    return None


_W64_TAIL = bytes.fromhex("2e91cf11a5d628db04c10000")  # the rest of Wave64's "riff" GUID
_WAV_FRAME_TAGS = (1, 3, 6, 7)  # PCM, IEEE float, A-law, µ-law: one frame per block_align bytes
_PER_BLOCK_TAGS = (0x0002, 0x0011, 0x0031)  # MS ADPCM, IMA ADPCM, GSM 6.10: wSamplesPerBlock in fmt
_AU_BYTES = {1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1}  # bytes per sample of AU's PCM / law encodings


def _after(file: Any, offset: int, chunks: Any) -> int | None:
    """``chunks(file)`` with ``file`` at ``offset`` (past the format's own header)."""
    file.seek(offset)
    return chunks(file)


def _chunk_start(file: Any, size: int) -> bytes:
    """The first bytes (at most 64) of a chunk's body of ``size`` bytes, the file left past
    the chunk: a lying size costs a seek, never a read of that size."""
    body = file.read(min(size, 64))
    file.seek(size - len(body), os.SEEK_CUR)
    return body


def _wav_frames(file: Any, order: str) -> int | None:
    """A RIFF/WAVE ``data`` chunk's size over ``fmt``'s block align (RF64: the ``ds64``
    chunk's 64-bit size stands for the ``data`` chunk's -1); for compressed formats (ADPCM,
    GSM 6.10, G.72x: a block holds many frames) the ``fact`` chunk's count."""
    block_align, size64, tag, fact, per_block = None, None, None, None, None
    for _ in range(64):  # chunks before "data"; a file with more is not worth a warning
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        name, size = chunk[:4], struct.unpack(order + "I", chunk[4:])[0]
        if name == b"data":
            if tag not in _WAV_FRAME_TAGS:  # a cut ADPCM file decoded silently short (data / align: blocks)
                return _compressed_frames(file, size, block_align, per_block, fact)
            size = size64 if size == 0xFFFFFFFF and size64 is not None else size
            if not block_align or size in (0, 0xFFFFFFFF):  # 0 / -1: streamed WAV, size unknown
                return None
            return size // block_align
        body = _chunk_start(file, size + (size & 1))
        if name == b"fmt " and len(body) >= 14:
            tag, block_align = struct.unpack(order + "HxxxxxxxxxxH", body[:14])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
                tag = struct.unpack(order + "H", body[24:26])[0]
            if tag in _PER_BLOCK_TAGS and len(body) >= 20:  # cbSize, then wSamplesPerBlock
                per_block = struct.unpack(order + "H", body[18:20])[0]
        elif name == b"fact" and len(body) >= 4:
            fact = struct.unpack(order + "I", body[:4])[0]
        elif name == b"ds64" and len(body) >= 16:
            size64 = struct.unpack("<Q", body[8:16])[0]
    return None


def _compressed_frames(file: Any, size: int, block_align: Any, per_block: Any, fact: Any) -> int | None:
    """A compressed WAV's frames: its ``fact`` chunk's count, or, where its ``data`` chunk
    declares more bytes than the file holds (cut), its blocks' frames: libsndfile writes the
    ``fact`` of a stereo IMA ADPCM file as half its frames, so a cut that kept more than half
    of one did not warn. The blocks count a last partial block whole: ``fact`` where it agrees
    with them, and for a complete file ``fact`` alone (or it would warn)."""
    if size in (0, 0xFFFFFFFF) or not block_align or not per_block:
        return fact
    start = file.tell()
    if size <= file.seek(0, os.SEEK_END) - start:
        return fact
    blocks = size // block_align * per_block
    return fact if fact is not None and fact > blocks - per_block else blocks  # fact: if it fits the data


def _w64_frames(file: Any) -> int | None:
    """Wave64: 16-byte GUID chunk names (the first 4 bytes as RIFF's), 64-bit sizes that
    count the 24-byte chunk header, chunks aligned to 8 bytes."""
    block_align = None
    for _ in range(64):
        chunk = file.read(24)
        if len(chunk) < 24:
            return None
        name, size = chunk[:4], struct.unpack("<Q", chunk[16:])[0]
        if size < 24:
            return None
        if name == b"data":
            return (size - 24) // block_align if block_align else None
        body = _chunk_start(file, size - 24 + -size % 8)
        if name == b"fmt " and len(body) >= 14:
            block_align = struct.unpack("<H", body[12:14])[0]
    return None


def _au_frames(head: bytes) -> int | None:
    """Sun AU: the data size (-1: unknown) over the encoding's bytes per sample x channels."""
    order = ">" if head[:4] == b".snd" else "<"
    _, size, encoding, _, channels = struct.unpack(order + "5I", head[4:24])
    width = _AU_BYTES.get(encoding)
    return None if size == 0xFFFFFFFF or not width or not channels else size // (width * channels)


def _caf_frames(file: Any) -> int | None:
    """CAF: the ``data`` chunk's size (less its 4-byte edit count; -1: unknown) over the
    ``desc`` chunk's bytes per packet (0 for compressed formats: not counted here)."""
    packet = None
    for _ in range(64):
        chunk = file.read(12)
        if len(chunk) < 12:
            return None
        name, size = chunk[:4], struct.unpack(">q", chunk[4:])[0]
        if name == b"data":
            return None if size < 4 or packet is None else (size - 4) // packet[0] * packet[1]
        if size < 0:
            return None
        body = _chunk_start(file, size)
        if name == b"desc" and len(body) >= 24:
            sizes = struct.unpack(">II", body[16:24])
            packet = sizes if all(sizes) else None  # (bytes, frames) per packet
    return None


def _nist_frames(head: bytes) -> int | None:
    """NIST SPHERE: the ``sample_count -i N`` line of the 1024-byte text header (per channel)."""
    match = re.search(rb"^sample_count -i (\d{1,18})\s*$", head, re.MULTILINE)
    return int(match.group(1)) if match else None


def _aiff_frames(file: Any) -> int | None:
    """``numSampleFrames`` of the ``COMM`` chunk of an AIFF / AIFF-C file read past its
    12-byte ``FORM`` header (big-endian chunks, padded to even sizes)."""
    for _ in range(64):
        chunk = file.read(8)
        if len(chunk) < 8:
            return None
        name, size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if name == b"COMM":
            comm = file.read(6)
            return struct.unpack(">I", comm[2:6])[0] if len(comm) == 6 else None
        file.seek(size + (size & 1), os.SEEK_CUR)
    return None


def header_frames(path: Path, frames: int) -> int:
    """The frames a file's header declares: libsndfile's count ``frames``, or
    ``declared_frames``'s if larger (libsndfile counts a cut file by its size)."""
    return max(frames, declared_frames(path) or 0)
