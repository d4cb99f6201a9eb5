"""The lab's pinger server, written for udpbeat's tests: echoes each request uppercased,
after the lab's simulated loss (a draw of randint(0, 10) per datagram, dropped when
below 4). Listens on 127.0.0.1 and prints nothing, like the lab's.

    python3 UDPPingerServer.py [PORT [nodrop]]      (PORT defaults to 12000)

`nodrop` turns the loss off; UDPBEAT_LAB_SEED=N fixes the draws (labpeer.py)."""

import labpeer


def echo_upper(data, _addr):
    # bytes.upper(), as the lab does: ASCII letters only, any other octet unchanged.
    return data.upper()


if __name__ == "__main__":
    labpeer.run_server(echo_upper)
