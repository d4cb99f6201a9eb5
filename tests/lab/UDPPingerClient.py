"""The lab's pinger client, written for udpbeat's tests: COUNT requests `Ping <seq>
<time>` one after the other, each waiting up to one second for a reply, then the lab's
statistics.

    python3 UDPPingerClient.py HOST PORT [COUNT]     (COUNT defaults to 10)

Prints, like the lab's: `Reply from HOST: <reply>` and `RTT: 0.000123 seconds`, or
`Request timed out`; then `--- Ping statistics ---`, the `Packets: ...` line and, when
a reply came, `RTTs: Min = ...s, Max = ...s, Avg = ...s`. Like the lab's, it takes
whatever datagram arrives next as the reply (a late reply answers the next request).
SIGINT/SIGTERM stop it early with the statistics of what was sent (exit 128 + signal)."""

import socket
import sys
import time

import labpeer


def main():
    host, port, count = labpeer.parse_client_args(sys.argv, default_count=10)
    labpeer.setup_process()
    sock, addr = labpeer.client_socket(host, port)
    sent, rtts, status = 0, [], 0
    try:
        for seq in range(1, count + 1):
            message = labpeer.request(seq)
            start = time.monotonic()
            try:
                sock.sendto(message, addr)
                sent += 1
                reply, _ = sock.recvfrom(labpeer.RECV_SIZE)
            except socket.timeout:
                print("Request timed out")
                continue
            except OSError as e:
                labpeer.fail(f"{host}:{port}: {e.strerror}")
            rtt = time.monotonic() - start
            rtts.append(rtt)
            print(f"Reply from {host}: {reply.decode(errors='replace')}")
            print(f"RTT: {rtt:.6f} seconds")
    except labpeer.Stopped as e:
        status = 128 + e.signo
    if sent:
        print("\n--- Ping statistics ---")
        print(labpeer.loss_line(sent, sent - len(rtts)))
        if rtts:
            print(f"RTTs: Min = {min(rtts):.6f}s, Max = {max(rtts):.6f}s, "
                  f"Avg = {sum(rtts) / len(rtts):.6f}s")
    sys.exit(status)


if __name__ == "__main__":
    main()
