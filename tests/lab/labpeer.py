"""What the four lab-protocol peers in this directory share.

The peers speak the lab's text protocol (../shared/DESIGN.md section 1, "Seed
compatibility"): a request is `Ping <seq> <unix seconds>`, the pinger's reply is the
request uppercased, the heartbeat reply is `<seq> <receive time - sent time, %.6f>`.
They take the lab programs' arguments and print the lab programs' lines, so the
integration tests drive and read them exactly as they do the lab's own programs
(../shared/seed/), which are not part of this repository.

Unlike the lab's programs they stop by themselves: servers after UDPBEAT_LAB_LIFETIME
seconds (default 600) or a million datagrams, clients after COUNT probes; and all four
stop quietly on SIGINT or SIGTERM. Every failure is one line on stderr.
"""

import os
import random
import signal
import socket
import sys
import time

PROG = os.path.basename(sys.argv[0])

SERVER_HOST = "127.0.0.1"  # the lab's servers listen on loopback only
DEFAULT_PORT = 12000       # the lab's port when none is given
RECV_SIZE = 1024           # the lab reads 1024 octets at most; longer datagrams are cut
CLIENT_TIMEOUT = 1.0       # the lab's clients wait one second for each reply

LIFETIME_ENV = "UDPBEAT_LAB_LIFETIME"
DEFAULT_LIFETIME = 600.0
MAX_DATAGRAMS = 1_000_000
SEED_ENV = "UDPBEAT_LAB_SEED"

SERVER_SYNOPSIS = "PORT [nodrop]"
CLIENT_SYNOPSIS = "HOST PORT [COUNT]"


class Stopped(Exception):
    """Raised by the SIGINT/SIGTERM handler to unwind out of a blocking call."""

    def __init__(self, signo):
        super().__init__(signo)
        self.signo = signo


def fail(message, code=1):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def usage_error(message, synopsis):
    fail(f"{message} (usage: {PROG} {synopsis})", 2)


def setup_process():
    """Line-buffered stdout (a test reads lines while the peer runs) and a quiet stop."""
    sys.stdout.reconfigure(line_buffering=True)

    def on_signal(signo, _frame):
        raise Stopped(signo)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def parse_port(text, synopsis):
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        usage_error(f"port {text!r} is not a number from 1 to 65535", synopsis)
    return port


def parse_server_args(argv):
    """`[PORT [nodrop]]` as the lab takes it: returns (port, drop_enabled)."""
    args = argv[1:]
    if len(args) > 2 or (len(args) == 2 and args[1] != "nodrop"):
        usage_error(f"unexpected arguments {args[1:]!r}", SERVER_SYNOPSIS)
    port = parse_port(args[0], SERVER_SYNOPSIS) if args else DEFAULT_PORT
    return port, len(args) < 2


def parse_client_args(argv, default_count):
    """`HOST PORT [COUNT]`: returns (host, port, count)."""
    args = argv[1:]
    if not 2 <= len(args) <= 3:
        usage_error("expected HOST and PORT, and optionally COUNT", CLIENT_SYNOPSIS)
    port = parse_port(args[1], CLIENT_SYNOPSIS)
    count = default_count
    if len(args) == 3:
        try:
            count = int(args[2])
        except ValueError:
            count = 0
        if count < 1:
            usage_error(f"count {args[2]!r} is not a positive number", CLIENT_SYNOPSIS)
    return args[0], port, count


class DropRule:
    """The lab's simulated loss: one draw of randint(0, 10) per datagram received, dropped
    when below 4 (4 in 11). UDPBEAT_LAB_SEED=N fixes the draws, so that a test knows
    exactly which datagrams are dropped."""

    def __init__(self, enabled):
        self.enabled = enabled
        seed = os.environ.get(SEED_ENV, "")
        if seed:
            try:
                self.rng = random.Random(int(seed))
            except ValueError:
                fail(f"{SEED_ENV}={seed!r} is not an integer", 2)
        else:
            self.rng = random.Random()

    def drop(self):
        return self.enabled and self.rng.randint(0, 10) < 4


def lifetime():
    text = os.environ.get(LIFETIME_ENV, "")
    if not text:
        return DEFAULT_LIFETIME
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        fail(f"{LIFETIME_ENV}={text!r} is not a number of seconds from 0 to 86400", 2)
    return seconds


def run_server(answer, ready_line=None):
    """Binds 127.0.0.1:PORT and answers each datagram the drop rule keeps with
    answer(data, addr) -> bytes, until a signal, the lifetime or the datagram cap."""
    port, drop_enabled = parse_server_args(sys.argv)
    rule = DropRule(drop_enabled)
    deadline = time.monotonic() + lifetime()
    setup_process()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind((SERVER_HOST, port))
            except OSError as e:
                fail(f"bind {SERVER_HOST}:{port}: {e.strerror}")
            if ready_line:
                print(ready_line)
            for _ in range(MAX_DATAGRAMS):
                left = deadline - time.monotonic()
                if left <= 0:
                    print(f"{PROG}: stopping after {LIFETIME_ENV} seconds", file=sys.stderr)
                    break
                sock.settimeout(left)
                try:
                    data, addr = sock.recvfrom(RECV_SIZE)
                except socket.timeout:
                    continue
                if rule.drop():
                    continue
                reply = answer(data, addr)
                try:
                    sock.sendto(reply, addr)
                except OSError as e:
                    fail(f"send to {addr[0]}:{addr[1]}: {e.strerror}")
    except Stopped:
        pass
    sys.exit(0)


def client_socket(host, port):
    """A UDP socket for HOST:PORT (IPv4 or IPv6) with the lab's one-second timeout, and
    the address to send to."""
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except socket.gaierror as e:
        fail(f"resolve {host}: {e.strerror}", 2)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(CLIENT_TIMEOUT)
    return sock, sockaddr


def request(seq):
    """The lab's request: sequence number and the send time in Unix seconds."""
    return f"Ping {seq} {time.time()}".encode()


def loss_line(sent, lost):
    # The lab prints the percentage as Python formats a float: 0.0, 30.0, 33.33333333333333.
    return (f"Packets: Sent = {sent}, Received = {sent - lost}, Lost = {lost} "
            f"({(lost / sent) * 100}% packet loss)")
