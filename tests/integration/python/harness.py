"""Shared by the client scripts: a watchdog, waits with a deadline, and the JSON result on stdout.

Each script prints one JSON object (its results) on success and exits 0. When something it waits for
does not come in time, it says what on stderr and exits 2; the watchdog ends a script that hangs
anywhere else with exit 3.
"""

import json
import os
import sys
import threading
import time

WAIT = 5.0  # seconds for any one thing the scripts wait for


def fail(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr, flush=True)
    os._exit(2)  # the client's threads would keep a plain exit waiting


def start_watchdog(seconds):
    def expire():
        print(f"{os.path.basename(sys.argv[0])}: still running after {seconds} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def wait_until(predicate, what, timeout=WAIT):
    """Polls `predicate` until it is true; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


class Inbox:
    """Events received on a namespace, in order, each as [name, *args]."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def add(self, name, *args):
        with self.lock:
            self.events.append([name, *args])

    def named(self, name):
        with self.lock:
            return [event[1:] for event in self.events if event[0] == name]

    def wait(self, name, count=1, what=None):
        wait_until(lambda: len(self.named(name)) >= count, what or f"{count} '{name}' event(s)")
        return self.named(name)


def to_json(value):
    """JSON-friendly copy: bytes become {"bytes": [...]} so the test can compare them."""
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": list(value)}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value


def finish(results):
    print(json.dumps(to_json(results)), flush=True)
    os._exit(0)


def client_options(transport):
    """connect() transports for a mode: websocket only, polling only, or polling upgraded."""
    return {"websocket": ["websocket"], "polling": ["polling"], "upgrade": ["polling", "websocket"]}[transport]
