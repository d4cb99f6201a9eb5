"""The lab's heartbeat client, written for udpbeat's tests: stop-and-wait heartbeats
`Ping <seq> <time>`, each waiting up to one second for `<seq> <time difference>`; after
3 consecutive misses it declares the server down and stops.

    python3 UDPHeartbeatClient.py HOST PORT [COUNT]  (COUNT defaults to 1000)

Prints, like the lab's: `Received heartbeat response N: Time difference = 0.000123
seconds` or `Heartbeat N: Request timed out`, `Server is down! 3 consecutive heartbeat
responses were missed.`, then `--- Heartbeat statistics ---` and the `Packets: ...`
line. A reply that is not two words, the second a number, ends it at once with exit 1
and the ValueError on stderr, as the lab's dies of it (an uppercase pinger echo
`PING N <time>` is such a reply). SIGINT/SIGTERM stop it early with the statistics of
what was sent (exit 128 + signal)."""

import socket
import sys

import labpeer

MISSES_FOR_DOWN = 3


def main():
    host, port, count = labpeer.parse_client_args(sys.argv, default_count=1000)
    labpeer.setup_process()
    sock, addr = labpeer.client_socket(host, port)
    sent, missed, consecutive, status = 0, 0, 0, 0
    try:
        for seq in range(1, count + 1):
            try:
                sock.sendto(labpeer.request(seq), addr)
                sent += 1
                reply, _ = sock.recvfrom(labpeer.RECV_SIZE)
            except socket.timeout:
                missed += 1
                consecutive += 1
                print(f"Heartbeat {seq}: Request timed out")
                if consecutive == MISSES_FOR_DOWN:
                    print("Server is down! 3 consecutive heartbeat responses were missed.")
                    break
                continue
            except OSError as e:
                labpeer.fail(f"{host}:{port}: {e.strerror}")
            text = reply.decode(errors="replace")
            try:
                reply_seq, difference = text.split()
                difference = float(difference)
            except ValueError as e:
                labpeer.fail(f"reply {text!r} is not '<seq> <time difference>' "
                             f"(ValueError: {e})")
            consecutive = 0
            print(f"Received heartbeat response {reply_seq}: "
                  f"Time difference = {difference:.6f} seconds")
    except labpeer.Stopped as e:
        status = 128 + e.signo
    if sent:
        print("\n--- Heartbeat statistics ---")
        print(labpeer.loss_line(sent, missed))
    sys.exit(status)


if __name__ == "__main__":
    main()
