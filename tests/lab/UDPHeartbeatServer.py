"""The lab's heartbeat server, written for udpbeat's tests: answers `Ping <seq> <time>`
with `<seq> <now - time, %.6f>`, after the lab's simulated loss (a draw of
randint(0, 10) per datagram, dropped when below 4). Listens on 127.0.0.1; prints a
ready line, then each message it keeps, like the lab's. Like the lab's, it stops at the
first message that is not three words ending in a number (exit 1, one line on stderr).

    python3 UDPHeartbeatServer.py [PORT [nodrop]]   (PORT defaults to 12000)

`nodrop` turns the loss off; UDPBEAT_LAB_SEED=N fixes the draws (labpeer.py)."""

import time

import labpeer

READY_LINE = "The server is ready to receive heartbeats..."


def time_difference(data, addr):
    text = data.decode(errors="replace")
    print(f"Received message: {text}")
    try:
        _, seq, sent = text.split()
        difference = time.time() - float(sent)
    except ValueError:
        labpeer.fail(f"malformed heartbeat {text!r} from {addr[0]}:{addr[1]}: "
                     "expected 'Ping <seq> <time>'")
    return f"{seq} {difference:.6f}".encode()


if __name__ == "__main__":
    labpeer.run_server(time_difference, ready_line=READY_LINE)
