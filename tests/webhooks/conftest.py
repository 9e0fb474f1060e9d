import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from tests.dispatch.factories import TechnicianFactory, skill
from webhooks.models import EventType
from webhooks.services import subscriber_create


class Receiver:
    """A real HTTP server on loopback standing in for a subscriber: answers with the queued status codes (then the
    last one forever) and records every request."""

    def __init__(self, statuses: list[int], delay: float = 0.0):
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                time.sleep(receiver.delay)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver error")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        return [request["headers"]["X-Webhook-Id"] for request in self.requests]

    def documents(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]


@pytest.fixture
def receiver_factory():
    receivers = []

    def start(statuses=(200,), delay: float = 0.0) -> Receiver:
        receiver = Receiver(list(statuses), delay=delay).__enter__()
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.__exit__()


@pytest.fixture
def t0():
    return datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def wang(technician, zhihe):
    return TechnicianFactory(
        user=technician, name="王师傅", phone="+8613900000001", coverage=[zhihe.parent], skills=[skill("biometric")]
    )


@pytest.fixture
def every_ticket_event():
    return [value for value in EventType.values if value.startswith("ticket.")]


@pytest.fixture
def crm(db, every_ticket_event):
    """A subscriber to every ticket and complaint event, at an address nothing listens on (tests override url)."""
    return subscriber_create(
        name="品牌售后平台",
        url="http://127.0.0.1:9/hooks",
        event_types=[value for value in EventType.values if value != EventType.TEST],
    )
