#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz harnesses: tests/fuzz/corpus/<harness>/.

usage: tests/fuzz/make_corpus.py   (rewrites the corpus; deterministic output)

lab_protocol: the lab text protocol requests, echo and heartbeat replies, near misses, garbage
stamp:     STAMP sender/reflector packets of 44/45/100 octets, RFC 8972 TLV trailers,
           garbage
responder: the same datagrams behind responder_fuzz.cc's 18-octet header
           (flags, TTL, received time, reply time), for each reply mode; with Follow-Up
           Telemetry understood; and authenticated-mode requests signed with the harness's
           key (with and without the RFC 8972 HMAC TLV, tampered, short)
stamp_auth: a key-length octet and a key, then STAMP authenticated-mode packets signed
           with it (HMAC-SHA-256 of octets 0..95, computed here with Python's hmac),
           tampered and short ones, and RFC 8972 TLV areas (Follow-Up Telemetry)
"""
import hashlib
import hmac
import pathlib
import shutil
import struct

HERE = pathlib.Path(__file__).resolve().parent
NTP_UNIX = 2_208_988_800


def ntp(unix_seconds: float) -> bytes:
    s = int(unix_seconds)
    return struct.pack(">II", s + NTP_UNIX, int((unix_seconds - s) * 2**32))


def sender(seq, t, err=0x0001, ssid=0, length=44, tail=b""):
    """RFC 8762 §4.2.1: 0..3 seq | 4..11 T1 | 12..13 err est | 14..15 SSID | 16..43 MBZ."""
    p = struct.pack(">I", seq) + ntp(t) + struct.pack(">HH", err, ssid) + bytes(28) + tail
    return p + bytes(max(0, length - len(p)))


def reflector(seq, t3, t2, sseq, t1, ttl=64, ssid=0, length=44, tail=b""):
    """RFC 8762 §4.3.1: 0..3 seq | 4..11 T3 | 12..13 err | 14..15 SSID | 16..23 T2
    | 24..27 sender seq | 28..35 T1 | 36..37 sender err | 38..39 MBZ | 40 TTL | 41..43 MBZ."""
    p = (struct.pack(">I", seq) + ntp(t3) + struct.pack(">HH", 1, ssid) + ntp(t2)
         + struct.pack(">I", sseq) + ntp(t1) + struct.pack(">H", 1) + bytes(2)
         + bytes([ttl]) + bytes(3) + tail)
    return p + bytes(max(0, length - len(p)))


def tlv(flags, typ, value: bytes) -> bytes:
    """RFC 8972 §4: flags (U M I R...) | type | 16-bit length | value."""
    return bytes([flags, typ]) + struct.pack(">H", len(value)) + value


T = 1_700_000_000.25
LAB = {
    "ping": b"Ping 1 1700000000.123456789",
    "ping_padded": b"Ping 42 1700000000.000000001" + b" " * 36,
    "heartbeat": b"Heartbeat 7 1700000000.5",
    "echo_reply": b"PING 3 1700000000.123456789",
    "heartbeat_reply": b"7 0.000123",
    "heartbeat_reply_neg": b"18446744073709551615 -12.500000",
    "other_keyword": b"Hello 1 2",
    "exponent": b"Ping 1 1e9",
    "extra_field": b"Ping 1 2 3",
    "double_space": b"Ping  1 2",
    "not_text": b"Ping 1 \x00\xff",
    "long_seq": b"Ping 123456789012345678901 1",
    "garbage": bytes(range(0, 256, 7)),
}
STAMP = {
    "sender_44": sender(1, T),
    "sender_45": sender(2, T, err=0x8112, ssid=0xBEEF, length=45),
    "sender_100": sender(3, T, length=100),
    "sender_tlv": sender(4, T, ssid=7, tail=tlv(0, 1, bytes(8)) + tlv(0, 5, b"abcd")),
    "sender_bad_tlv": sender(5, T, tail=tlv(0, 9, bytes(4))[:-1]),
    "sender_twamp_padding": bytes(4) + ntp(T) + b"\x00\x01" + bytes([0x55] * 38),
    "reflector_44": reflector(7, T + 0.002, T + 0.001, 1, T),
    "reflector_45": reflector(8, T + 0.002, T + 0.001, 2, T, ttl=255, length=45),
    "reflector_100": reflector(9, T, T, 3, T, ssid=0xBEEF, length=100),
    "reflector_tlv": reflector(10, T, T, 4, T, tail=tlv(0x80, 3, bytes(12))),
    "short_43": sender(1, T)[:43],
    "garbage": bytes((i * 37 + 11) & 0xFF for i in range(64)),
}


def responder_header(mode, follow_up=False, ttl=64, ttl_unknown=False, raw_times=False,
                     received=0x12345678_00000000, now=0x00100000_00000000,
                     auth=False) -> bytes:
    flags = (mode | (4 if follow_up else 0) | (8 if ttl_unknown else 0)
             | (0x20 if raw_times else 0) | (0x40 if auth else 0))
    return bytes([flags, ttl]) + struct.pack(">QQ", received, now)


AUTO, ECHO, HEARTBEAT, STAMP_MODE = range(4)
RESPONDER = {
    "auto_ping": responder_header(AUTO) + LAB["ping"],
    "auto_heartbeat": responder_header(AUTO) + LAB["heartbeat"],
    "auto_heartbeat_padded": responder_header(AUTO) + b"Heartbeat 7 1700000000.5" + b" " * 20,
    "auto_stamp": responder_header(AUTO, follow_up=True) + STAMP["sender_44"],
    "auto_stamp_tlv": responder_header(AUTO) + STAMP["sender_tlv"],
    "auto_garbage": responder_header(AUTO) + STAMP["garbage"],
    "echo_text": responder_header(ECHO) + b"hello, World",
    "echo_empty": responder_header(ECHO),
    "heartbeat_other": responder_header(HEARTBEAT) + b"Hello 9 1700000000.25" + b" " * 16,
    "heartbeat_short": responder_header(HEARTBEAT) + b"a 1 1",
    "stamp_45": responder_header(STAMP_MODE, follow_up=True, ttl_unknown=True) + STAMP["sender_45"],
    "stamp_100_raw_times": responder_header(STAMP_MODE, raw_times=True, received=2**63 - 1,
                                            now=2**63) + STAMP["sender_100"],
    "stamp_twamp": responder_header(STAMP_MODE) + STAMP["sender_twamp_padding"],
    "stamp_short": responder_header(STAMP_MODE) + STAMP["short_43"],
}


def sign(key: bytes, packet: bytes) -> bytes:
    """RFC 8762 §4.4: HMAC-SHA-256 over octets 0..95, truncated to 128 bits, at 96..111."""
    mac = hmac.new(key, packet[:96], hashlib.sha256).digest()[:16]
    return packet[:96] + mac + packet[112:]


def auth_sender(key, seq, t, err=0x0001, ssid=0, length=112, tail=b""):
    """RFC 8762 §4.2.2: 0..3 seq | 4..15 MBZ | 16..23 T1 | 24..25 err | 26..27 SSID
    | 28..95 MBZ | 96..111 HMAC."""
    p = struct.pack(">I", seq) + bytes(12) + ntp(t) + struct.pack(">HH", err, ssid) + bytes(84)
    p += tail
    return sign(key, p + bytes(max(0, length - len(p))))


def auth_reflector(key, seq, t3, t2, sseq, t1, ttl=64, ssid=0, length=112, tail=b""):
    """RFC 8762 §4.3.2: 0..3 seq | 4..15 MBZ | 16..23 T3 | 24..25 err | 26..27 SSID
    | 28..31 MBZ | 32..39 T2 | 40..47 MBZ | 48..51 sender seq | 52..63 MBZ | 64..71 T1
    | 72..73 sender err | 74..79 MBZ | 80 TTL | 81..95 MBZ | 96..111 HMAC."""
    p = (struct.pack(">I", seq) + bytes(12) + ntp(t3) + struct.pack(">HH", 1, ssid) + bytes(4)
         + ntp(t2) + bytes(8) + struct.pack(">I", sseq) + bytes(12) + ntp(t1)
         + struct.pack(">H", 1) + bytes(6) + bytes([ttl]) + bytes(15) + bytes(16) + tail)
    return sign(key, p + bytes(max(0, length - len(p))))


def keyed(key: bytes, datagram: bytes) -> bytes:
    """stamp_auth_fuzz.cc's input: key length (mod 160), key, datagram."""
    assert len(key) < 160
    return bytes([len(key)]) + key + datagram


KEY = b"udpbeat fuzz key, 32 octets!!!!!"
LONG_KEY = bytes([0xAA]) * 131  # longer than the SHA-256 block: HMAC hashes it first
FOLLOW_UP_REQUEST = tlv(0x80, 7, bytes(16))
FOLLOW_UP_FILLED = tlv(0x00, 7, struct.pack(">I", 41) + ntp(T) + bytes([2]) + bytes(3))
STAMP_AUTH = {
    "sender_112": keyed(KEY, auth_sender(KEY, 1, T, ssid=7)),
    "sender_200": keyed(KEY, auth_sender(KEY, 2, T, err=0x8112, length=200)),
    "sender_follow_up": keyed(KEY, auth_sender(KEY, 3, T, tail=FOLLOW_UP_REQUEST)),
    "sender_long_key": keyed(LONG_KEY, auth_sender(LONG_KEY, 4, T)),
    "sender_empty_key": keyed(b"", auth_sender(b"", 5, T)),
    "sender_tampered": keyed(KEY, bytes([1]) + auth_sender(KEY, 6, T)[1:]),
    "sender_short": keyed(KEY, auth_sender(KEY, 7, T)[:111]),
    "reflector_112": keyed(KEY, auth_reflector(KEY, 7, T + 0.002, T + 0.001, 1, T, ssid=7)),
    "reflector_follow_up": keyed(KEY, auth_reflector(KEY, 8, T, T, 3, T,
                                                     tail=FOLLOW_UP_FILLED)),
    "tlv_follow_up_request": keyed(b"", FOLLOW_UP_REQUEST),
    "tlv_follow_up_filled": keyed(b"", tlv(0, 1, bytes(8)) + FOLLOW_UP_FILLED + tlv(0x80, 200,
                                                                                     b"x")),
    "tlv_follow_up_short": keyed(b"", tlv(0x80, 7, bytes(12)) + tlv(0x80, 9, b"ab")),
    "tlv_flagged_before": keyed(b"", tlv(0x40, 9, b"") + FOLLOW_UP_REQUEST),
    "tlv_zero_padding": keyed(b"", bytes(40)),
}


def tlv_signed(key: bytes, packet: bytes) -> bytes:
    """RFC 8972 §4.8: the packet's last 16 octets become the HMAC of its sequence number
    (octets 0..3) and the TLVs from octet 112 up to the HMAC TLV's header."""
    mac = hmac.new(key, packet[:4] + packet[112:-20], hashlib.sha256).digest()[:16]
    return packet[:-16] + mac


# responder_fuzz.cc's authenticated mode, its key (kKey) and what `ping --auth-key
# --follow-up` sends: the Follow-Up Telemetry TLV, then the HMAC TLV (U set) signing it.
RESPONDER_KEY = KEY
HMAC_TLV_REQUEST = tlv(0x80, 8, bytes(16))
AUTH_FOLLOW_UP = tlv_signed(RESPONDER_KEY, auth_sender(RESPONDER_KEY, 9, T, ssid=3,
                                                       tail=FOLLOW_UP_REQUEST + HMAC_TLV_REQUEST))
RESPONDER.update({
    "stamp_follow_up": responder_header(STAMP_MODE, follow_up=True)
                       + sender(11, T, ssid=2, tail=FOLLOW_UP_REQUEST),
    "auto_follow_up_padded": responder_header(AUTO, follow_up=True)
                             + sender(12, T, ssid=2, tail=FOLLOW_UP_REQUEST + tlv(0x80, 1, bytes(8))),
    "stamp_follow_up_short": responder_header(STAMP_MODE, follow_up=True)
                             + sender(13, T, tail=tlv(0x80, 7, bytes(12))),
    "auth_stamp_112": responder_header(STAMP_MODE, auth=True) + auth_sender(RESPONDER_KEY, 1, T),
    "auth_auto_follow_up": responder_header(AUTO, follow_up=True, auth=True) + AUTH_FOLLOW_UP,
    "auth_follow_up_no_state": responder_header(STAMP_MODE, auth=True) + AUTH_FOLLOW_UP,
    "auth_follow_up_bad_tlv_hmac": responder_header(STAMP_MODE, follow_up=True, auth=True)
                                   + AUTH_FOLLOW_UP[:-1] + bytes([AUTH_FOLLOW_UP[-1] ^ 1]),
    "auth_follow_up_unsigned": responder_header(STAMP_MODE, follow_up=True, auth=True)
                               + auth_sender(RESPONDER_KEY, 10, T, tail=FOLLOW_UP_REQUEST),
    "auth_tampered": responder_header(STAMP_MODE, auth=True)
                     + bytes([1]) + auth_sender(RESPONDER_KEY, 6, T)[1:],
    "auth_other_key": responder_header(AUTO, auth=True) + auth_sender(LONG_KEY, 4, T),
    "auth_plain_stamp": responder_header(AUTO, auth=True) + STAMP["sender_44"],
    "auth_plain_ping": responder_header(ECHO, auth=True) + LAB["ping"],
})


def main() -> None:
    for name, files in (("lab_protocol", LAB), ("stamp", STAMP), ("responder", RESPONDER),
                        ("stamp_auth", STAMP_AUTH)):
        d = HERE / "corpus" / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        for fname, data in files.items():
            (d / fname).write_bytes(data)


if __name__ == "__main__":
    main()
