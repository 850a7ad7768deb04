"""Where a file's audio really ends, read from its container's own marks, for the ways
libsndfile loses audio without a word (``lost_audio`` and ``ogg_cut`` tell them):

- a FLAC file whose STREAMINFO header understates its length: libsndfile stops decoding at
  the header's count (a 600 s file declaring 1 s decoded to 1 s); the first and last frames'
  headers say where the audio starts and ends (``flac_frames``);
- an Ogg file cut mid-stream: libsndfile counts it by its last whole page; a whole stream
  ends with a page flagged end-of-stream, at the end of the file (``ogg_cut``);
- Ogg files joined end to end (``cat a.ogg b.ogg``): libsndfile decodes the first stream
  alone; the last page's stream is not one that starts the file (``ogg_chained``);
- MP3 files joined end to end (``cat a.mp3 b.mp3``): mpg123 stops at the frame count of the
  first one's Xing / Info header; MPEG audio past the end its byte count gives is the rest
  (``mp3_joined``);
- an MP3 without a Xing / Info header whose frames' bitrates vary: mpg123 stops at a length
  estimated from the first frame's bitrate; its frame headers count the audio (``mp3_walked``).

Each opens the file once and reads a few hundred bytes from its start and at most its longest
frame or page (and tags) from its end: about a millisecond (``mp3_walked`` reads an MP3 without
that header whole). ``_files`` calls the one its format
needs (by libsndfile's format name): no other file pays for them.
"""

from __future__ import annotations

import functools
import os
import zlib
from pathlib import Path
from typing import Any

from ._regular import open_regular

_TAGS_BYTES = 1 << 16  # room for tags after the audio, read with its end
_OGG_TAIL = 65_307 + 27 + _TAGS_BYTES  # the longest Ogg page, with its header
_OGG_HEAD = 1 << 14  # the pages that start each stream of a file are a header's few bytes each
_MAX_BLOCKS = 1024  # FLAC metadata blocks walked to the first frame (encoders write a handful)
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


def _without_tags(data: bytes) -> bytes:
    """``data`` (a file's end) less the tags some taggers append after the audio: an ID3v1
    ``TAG`` block (128 bytes) and an APEv2 tag (ending with its 32-byte ``APETAGEX`` footer)."""
    if len(data) >= _ID3V1_BYTES and data[-_ID3V1_BYTES : -_ID3V1_BYTES + 3] == b"TAG":
        data = data[:-_ID3V1_BYTES]
    if len(data) >= 32 and data[-32:-24] == b"APETAGEX":
        size = int.from_bytes(data[-20:-16], "little")  # items and footer
        size += 32 if data[-9] & 0x80 else 0  # a header too
        data = data[: max(len(data) - size, 0)]
    return data


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


def _frame_header(data: bytes, at: int) -> tuple[int, bool, int] | None:
    """(number, whether it counts samples rather than frames, block size) of the FLAC frame
    whose header starts at ``data[at]``, or ``None`` when no valid header (by its CRC-8)
    starts there."""
    if at + 6 > len(data) or data[at] != 0xFF or data[at + 1] >> 1 != 0x7C:
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
    return value, bool(variable), block


def flac_frames(path: Path, above: int = -1) -> int | None:
    """The frames a FLAC file's audio holds: from its first frame's first sample to its last
    frame's end, by their headers (the last frame's CRC-16 must end the file, ID3v1 / APEv2
    tags aside; the numbers need not start at 0: a file cut from a stream without re-encoding
    keeps them); ``None`` for another format or when it cannot tell (other trailing data, a
    frame cut short: libFLAC reports those itself).

    ``None`` too when the audio ends at or before ``above`` frames (the header count: nothing to
    tell). The header nearest the end that its CRC-8 validates is the last frame's, or the file
    is not told (a false header inside the last frame's data: about 1 file in 1000); the
    frame's CRC-16 (Python: 0.4 ms for a frame of 8 kB) is computed only for a count above
    ``above``."""
    try:
        with open_regular(path) as file:
            head = file.read(42)  # magic, STREAMINFO's block header and its 34 bytes
            if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:  # STREAMINFO comes first
                return None
            fields = int.from_bytes(head[18:26], "big")  # rate, channels - 1, bits - 1, total
            channels, bits = ((fields >> 41) & 7) + 1, ((fields >> 36) & 31) + 1
            # the longest frame the stream's largest block can make: verbatim samples (a side
            # channel one bit wider), frame and subframe headers, CRC
            longest = int.from_bytes(head[10:12], "big") * channels * (bits + 1) // 8 + 64
            first = _frame_header(_first_frame(file, head), 0)
            end = file.seek(0, os.SEEK_END)
            file.seek(max(end - longest - _TAGS_BYTES, 0))
            data = _without_tags(file.read(longest + _TAGS_BYTES))
    except (OSError, ValueError):
        return None
    if first is None or len(data) < 8:
        return None
    at = len(data) - 2  # before the CRC-16
    while (at := data.rfind(b"\xff", 0, at)) >= 0 and len(data) - at <= longest:
        last = _frame_header(data, at)
        if last is not None:
            # a fixed-block stream numbers its frames: every one but the last has the first's size
            start = first[0] if first[1] else first[0] * first[2]
            held = (last[0] if last[1] else last[0] * first[2]) + last[2] - start
            whole = held > above and _crc(data[at:-2], 0x8005, 16) == int.from_bytes(data[-2:], "big")
            return held if whole else None
    return None


def _first_frame(file: Any, streaminfo: bytes) -> bytes:
    """The first bytes of a FLAC file's first frame, past its metadata blocks (the first,
    STREAMINFO, with its 4-byte block header: ``streaminfo[4:]``)."""
    file.seek(8 + int.from_bytes(streaminfo[5:8], "big"))
    last = streaminfo[4] & 0x80
    for _ in range(_MAX_BLOCKS):
        if last:
            return file.read(32)
        if len(block := file.read(4)) < 4:
            break
        last = block[0] & 0x80
        file.seek(int.from_bytes(block[1:4], "big"), os.SEEK_CUR)
    return b""


_BITS_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def _ogg_crc(page: bytes) -> int:
    """Ogg's page checksum (CRC-32, poly 0x04C11DB7, MSB first, initial 0, with the page's own
    checksum field zeroed), by zlib's LSB-first CRC-32 of the bit-reversed bytes: C speed."""
    page = page[:22] + bytes(4) + page[26:]
    raw = zlib.crc32(page.translate(_BITS_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF  # initial 0, no final xor
    return int(f"{raw:032b}"[::-1], 2)


def _ogg_page(data: bytes, at: int) -> bytes | None:
    """The Ogg page at ``data[at]`` if it is whole and its checksum holds."""
    page = data[at:]
    if len(page) < 27 or page[:5] != b"OggS\0":  # version 0
        return None
    page = page[: 27 + page[26] + sum(page[27 : 27 + page[26]])]
    return page if _ogg_crc(page) == int.from_bytes(page[22:26], "little") else None


def _ogg_ends(path: Path) -> tuple[set[bytes], bytes | None, bool] | None:
    """For an Ogg file (else ``None``): the serial numbers of the streams that start it (its
    first pages, flagged beginning-of-stream), its last page whose checksum holds (``None``:
    none) and whether only zero bytes and tags follow that page."""
    try:
        with open_regular(path) as file:
            head = file.read(_OGG_HEAD)
            if head[:4] != b"OggS":
                return None
            end = file.seek(0, os.SEEK_END)
            file.seek(max(end - _OGG_TAIL, 0))
            data = _without_tags(file.read(_OGG_TAIL))
    except OSError:
        return None
    serials, at = set(), 0
    while (page := _ogg_page(head, at)) is not None and page[5] & 0x2:
        serials.add(page[14:18])
        at += len(page)
    at = data.rfind(b"OggS")
    while at >= 0:
        if (page := _ogg_page(data, at)) is not None:
            return serials, page, not data[at + len(page) :].strip(b"\0")
        at = data.rfind(b"OggS", 0, at)
    return serials, None, False


def ogg_cut(path: Path) -> bool:
    """True when an Ogg file does not end with a whole page flagged end-of-stream (a cut
    file, which libsndfile counts by its last whole page, silently): the last page whose
    checksum holds must be flagged and followed by nothing but zero bytes and tags."""
    ends = _ogg_ends(path)
    return ends is not None and not (ends[1] is not None and ends[1][5] & 0x4 and ends[2])


def ogg_chained(path: Path) -> str | None:
    """The serial number (hex) of the stream that ends an Ogg file when no stream that starts
    it has it: streams chained end to end (``cat a.ogg b.ogg``), of which libsndfile decodes
    the first alone, silently; ``None`` otherwise."""
    ends = _ogg_ends(path)
    if ends is None or ends[1] is None or not ends[0] or ends[1][14:18] in ends[0]:
        return None
    return ends[1][14:18][::-1].hex()


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


def _mp3_first_frame(file: Any) -> tuple[int, bytes]:
    """Where an MP3's first frame starts (past an ID3v2 tag) and its first 192 bytes, which hold
    a Xing / Info header when there is one."""
    at = _past_id3v2(file, 0)
    file.seek(at)
    return at, file.read(192)


def _xing_at(frame: bytes) -> int:
    """Where the Xing / Info header (a frame count, a byte count) sits in a first frame; -1: none."""
    return max(frame.find(b"Xing", 4, 64), frame.find(b"Info", 4, 64))


def mp3_joined(path: Path) -> int | None:
    """The byte offset of MPEG audio that follows the end an MP3's Xing / Info header gives
    (its ``bytes`` field, counted from that header's frame), or ``None``: another format, no
    such header or field, or nothing but tags after it. Two whole frames must follow."""
    try:
        with open_regular(path) as file:
            first, frame = _mp3_first_frame(file)
            length = _mp3_frame_bytes(frame)
            tag = _xing_at(frame)
            flags = int.from_bytes(frame[tag + 4 : tag + 8], "big") if tag > 0 else 0
            if length is None or not flags & 2:  # no byte count
                return None
            count_at = tag + 8 + (4 if flags & 1 else 0)
            end = first + int.from_bytes(frame[count_at : count_at + 4], "big")
            if end <= first + length:  # 0: an encoder stopped before it wrote the count
                return None
            file.seek(end)
            at = end + (_ID3V1_BYTES if file.read(3) == b"TAG" else 0)  # the first file's ID3v1 tag
            at = _past_id3v2(file, at)  # a second file's own tag
            file.seek(at)
            length = _mp3_frame_bytes(file.read(4))
            if length is None:
                return None
            file.seek(at + length)
            return end if _mp3_frame_bytes(file.read(4)) is not None else None
    except OSError:
        return None


_MP3_BLOCK = 1 << 20  # bytes read at a time while walking frame headers


def _mp3_same_stream(head: bytes, first: bytes) -> bool:
    """Whether the frame header ``head`` has ``first``'s MPEG version, layer and sample rate (not
    a sync word in trailing data)."""
    return head[1] & 0xFE == first[1] & 0xFE and head[2] & 0x0C == first[2] & 0x0C


def mp3_walked(path: Path, above: int) -> int | None:
    """The samples the MPEG frames of an MP3 without a Xing / Info header hold (1152 a frame for
    MPEG 1 Layer III, 576 for MPEG 2 and 2.5), counted by walking their headers from the first to
    the last whole one; ``None`` for another format, a file with that header (mpg123 counts by
    it: ``mp3_joined``), free-format frames, frames of one bitrate (the estimate then holds but
    for padding bytes), or a count within one frame of ``above``.

    Without that header mpg123 estimates the length from the file's size and its first frame's
    bitrate, and stops there: a VBR file whose loud first frame had a high bitrate decoded to
    17 % of its audio (an audit's finding). The walk reads the file once (1 MB a time; about
    0.3 s for an hour at 128 kbit/s), for such files only."""
    try:
        with open_regular(path) as file:
            end = file.seek(0, os.SEEK_END)
            at, first = _mp3_first_frame(file)
            if _mp3_frame_bytes(first) is None or _xing_at(first) > 0:
                return None
            per_frame, frames, block, start = 1152 if (first[1] >> 3) & 3 == 3 else 576, 0, b"", at
            bitrates = set()
            while True:
                if at + 4 > start + len(block):
                    file.seek(at)
                    block, start = file.read(_MP3_BLOCK), at
                head = block[at - start : at - start + 4]
                length = _mp3_frame_bytes(head)
                if length is None or not _mp3_same_stream(head, first) or at + length > end:
                    break
                frames, at = frames + 1, at + length
                bitrates.add(head[2] >> 4)
    except OSError:
        return None
    held = frames * per_frame
    # one bitrate (CBR): the estimate is off by padding bytes only (a padded first frame of 418 bytes
    # for 417.96: 51 ms of 8.7 min, which the review saw refused); a varying one loses whole seconds
    return held if len(bitrates) > 1 and held > above + per_frame else None


def lost_audio(path: Path, kind: str, frames: int) -> str | None:
    """Why libsndfile would decode less than ``path`` holds, or ``None``; ``kind`` is its
    format name (``soundfile.SoundFile.format``), ``frames`` its count (0: unknown)."""
    if kind == "FLAC" and frames and (held := flac_frames(path, above=frames)) is not None:
        why, fix = f"its header declares {frames} frames but its audio runs to {held}", "ffmpeg -i in.flac out.flac"
    elif kind == "MP3" and (joined := mp3_joined(path)) is not None:
        why = f"MPEG audio goes on at byte {joined}, past the end its header declares (MP3 files joined end to end?)"
        fix = "ffmpeg -i in.mp3 -c:a copy out.mp3"
    elif kind == "MP3" and (held := mp3_walked(path, above=frames)) is not None:
        why = f"its MPEG frames hold {held} samples, but it has no Xing / Info header and the decoder stops at"
        why += f" {frames}, a length estimated from its first frame's bitrate"
        return f"{why}; rewrite it (ffmpeg -i in.mp3 out.mp3)"
    elif kind == "OGG" and (serial := ogg_chained(path)) is not None:
        why = f"its last Ogg page belongs to stream {serial}, which does not start the file (Ogg files joined"
        why += " end to end?), and the decoder reads the first stream alone"
        return f"{why}; decode and join them (sox a.ogg b.ogg out.ogg)"
    else:
        return None
    return f"{why}, and the decoder stops at the header's count; rewrite the file to fix its header ({fix})"
