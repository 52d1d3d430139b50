"""Debian's python-socketio client as a user of herald's push namespace: login with an ack, pushes from
the HTTP API acknowledged back to the API caller, rooms through /changeRoom, and logout by
disconnecting, in one transport mode.

Usage: push_client.py URL websocket|polling|upgrade NAMESPACE UID ROOM
"""

import sys

import requests
import socketio

from harness import WAIT, Inbox, client_options, fail, finish, start_watchdog, wait_until


def api(url, path, **body):
    """POSTs a JSON body to the push API; returns the seed answer's body, failing unless code is 0."""
    try:
        response = requests.post(f"{url}{path}", json=body, timeout=WAIT)
    except requests.RequestException as error:
        fail(f"{path}: {error}")
    answer = response.json()
    if response.status_code != 200 or answer.get("code") != 0:
        fail(f"{path} answered {response.status_code} {answer}")
    return answer["body"]


def main():
    url, transport, nsp, uid, room = sys.argv[1:6]
    start_watchdog(30)
    inbox = Inbox()
    sio = socketio.Client(reconnection=False)

    def on_message(msg_id, message):
        inbox.add("message", msg_id, message)
        return True  # the ack: herald counts this user as having received it

    sio.on("message", on_message, namespace=nsp)
    sio.on("changeRoom", lambda *args: inbox.add("changeRoom", *args), namespace=nsp)

    try:
        sio.connect(url, namespaces=[nsp], transports=client_options(transport), wait_timeout=WAIT)
    except socketio.exceptions.ConnectionError as error:
        fail(f"could not connect: {error}")
    if transport == "upgrade":
        wait_until(lambda: sio.transport() == "websocket", "the upgrade to websocket")
    results = {"transport": sio.transport()}
    results["login"] = sio.call("login", uid, namespace=nsp, timeout=WAIT)

    # The API answers once the receipts are in: the body lists the users whose client acked.
    results["single_acked"] = api(url, "/pushMsgToSingleDevice", useraccount=uid, msgId="py-1", message="hello")
    results["single_message"] = inbox.wait("message")[0]
    payload = {"zeta": 1, "alpha": [True, None, 2.5], "text": "héllo"}
    results["json_acked"] = api(url, "/pushMsgToSingleDevice", useraccount=uid, msgId="py-2", message=payload)
    results["json_message"] = inbox.wait("message", 2)[1]

    results["joined"] = api(url, "/changeRoom", useraccounts=uid, joins=room, leaves="")
    results["join_notice"] = inbox.wait("changeRoom")[0]
    results["room_acked"] = api(url, "/pushMsgToRoom", tags=room, msgId="py-room", message="to the room")
    results["room_message"] = inbox.wait("message", 3)[2]
    results["left"] = api(url, "/changeRoom", useraccounts=uid, joins="", leaves=room)
    results["leave_notice"] = inbox.wait("changeRoom", 2)[1]
    results["after_leave_acked"] = api(url, "/pushMsgToRoom", tags=room, msgId="py-gone", message="not for you")

    # Messages so far: a push racing the disconnect below may still arrive, and that is fine.
    results["messages"] = [event[0] for event in inbox.named("message")]
    sio.disconnect()
    # A disconnect is a logout: a push to the user finds nobody to ack it (the server may take a
    # moment to see the socket go).
    def push_after_disconnect():
        results["after_disconnect_acked"] = api(url, "/pushMsgToSingleDevice", useraccount=uid, msgId="py-after",
                                                message="x")
        return results["after_disconnect_acked"] == []

    wait_until(push_after_disconnect, "the push after disconnecting to reach nobody")
    finish(results)


if __name__ == "__main__":
    main()
