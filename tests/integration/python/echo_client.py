"""Debian's python-socketio client against echo_server (namespace "/"): connect with auth, events and
acks both ways, binary payloads, rooms, and a server-side disconnect, in one transport mode.

Usage: echo_client.py URL websocket|polling|upgrade
"""

import sys

import socketio

from harness import WAIT, Inbox, client_options, fail, finish, start_watchdog, wait_until

ECHOED = ["message-back", "auth", "answer", "room-message"]


def main():
    url, transport = sys.argv[1], sys.argv[2]
    start_watchdog(30)
    inbox = Inbox()
    sio = socketio.Client(reconnection=False)
    for name in ECHOED:
        sio.on(name, lambda *args, name=name: inbox.add(name, *args))
    sio.on("disconnect", lambda: inbox.add("disconnect"))
    # The server asks with an ack; the handler's return value is the answer.
    sio.on("question", lambda *args: ["python answers", *args])

    try:
        sio.connect(url, transports=client_options(transport), auth={"token": "py"}, wait_timeout=WAIT)
    except socketio.exceptions.ConnectionError as error:
        fail(f"could not connect: {error}")
    results = {"transport_at_connect": sio.transport(), "sid_is_text": isinstance(sio.get_sid(), str)}
    if transport == "upgrade":
        wait_until(lambda: sio.transport() == "websocket", "the upgrade to websocket")
    results["transport"] = sio.transport()
    results["auth"] = inbox.wait("auth")[0]

    sio.emit("message", (1, "two", {"three": [True, None]}))
    results["message_back"] = inbox.wait("message-back")[0]
    results["ack"] = sio.call("message-with-ack", ("a", 2, {"b": [1.5]}), timeout=WAIT)

    sio.emit("message", (b"\x01\x02\x03", {"nested": b"\x00\xff"}))
    results["binary_back"] = inbox.wait("message-back", 2)[1]
    results["binary_ack"] = sio.call("message-with-ack", b"\xde\xad\xbe\xef", timeout=WAIT)

    sio.emit("ask", "what?")
    results["answer"] = inbox.wait("answer")[0]

    sio.call("join", "py-room", timeout=WAIT)
    results["rooms"] = sio.call("rooms", timeout=WAIT)
    sio.emit("broadcast", ("py-room", "to the room"))
    results["room_message"] = inbox.wait("room-message")[0]

    sio.emit("disconnect-me")
    inbox.wait("disconnect", what="the disconnect the server started")
    wait_until(lambda: not sio.connected, "the client to see itself disconnected")
    results["disconnected"] = True
    finish(results)


if __name__ == "__main__":
    main()
