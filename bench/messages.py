"""Message benchmark: messages per second delivered to instances that wait for the same message.

`--waiting` instances (3,000) of bench/diagrams/await_payment.bpmn wait at a receive task for
"payment_received", each with its own business key and an `order` variable. `--clients` threads
(16) then deliver one message to each over real HTTP (POST /api/v1/messages, keep-alive
`http.client` connections), first by business key, then, on a fresh set of waiting instances, by
correlation key (`{"order": n}`). Each delivery runs the instance to its end. Printed per way of
addressing: messages per second and the server's CPU time per message; the server is
`processcafe serve` on SQLite in a temporary folder, or on `--database-url`.

How many other instances wait for the same message name should not matter much: the business
key's index leads the lookup, and correlation keys are compared by the database
(server/services/variable_match.py), which still visits every wait for the name, so addressing
by correlation key costs about twice as much. Measured on 2 CPUs (2026-11-27, SQLite, 3,000
waiting, string keys): by business key 450-513 messages/s at 2.9-3.4 ms of server CPU each, by
correlation key 217-245/s at 6.7-7.6 ms. The code before (the engine run inside the write
transaction, the name's index leading the lookup on SQLite, correlation keys compared in Python)
gave 126/s at 11.1 ms and 60/s at 23.3 ms on the same machine.

    python bench/messages.py [--waiting 3000] [--clients 16] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from support import deploy, describe_machine, group_cpu_seconds, in_parallel, running_server
from throughput import Connection

DIAGRAM = "await_payment.bpmn"


def post(connection: Connection, path: str, body: dict, expected: int) -> dict:
    status, content = connection.post(path, body)
    if status != expected:
        raise RuntimeError(f"POST {path} answered {status}: {content[:300]!r}")
    return json.loads(content)


def measure(server, token: str, how: str, waiting: int, clients: int) -> tuple[float, float]:
    """Start `waiting` instances, then deliver a message to each, addressed `how`; returns
    messages per second and server CPU milliseconds per message."""
    prefix = f"{how}-{time.monotonic_ns()}"
    connections = [Connection(server.url, token) for _ in range(clients)]

    def start(client: int) -> None:
        for n in range(client, waiting, clients):
            post(connections[client], "/api/v1/process-instances", {
                "definition_key": "bench_await_payment", "business_key": f"{prefix}-{n}",
                "variables": {"order": f"{prefix}-{n}"}}, 201)

    def deliver(client: int) -> None:
        for n in range(client, waiting, clients):
            address = ({"business_key": f"{prefix}-{n}"} if how == "business key"
                       else {"correlation_keys": {"order": f"{prefix}-{n}"}})
            [item] = post(connections[client], "/api/v1/messages", {
                "name": "payment_received", "variables": {"amount": n}, **address}, 200)["items"]
            if item["status"] != "completed":
                raise RuntimeError(f"instance {item['instance_id']} is {item['status']!r} after its message")

    in_parallel(clients, start)
    cpu = group_cpu_seconds(server)
    started = time.perf_counter()
    in_parallel(clients, deliver)
    seconds = time.perf_counter() - started
    cpu = group_cpu_seconds(server) - cpu
    for connection in connections:
        connection.close()
    return waiting / seconds, cpu / waiting * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=3000, help="instances waiting for the message (default 3000)")
    parser.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    print(f"message benchmark: {args.waiting} waiting instances, {args.clients} clients; {describe_machine()}")
    with running_server(args.database_url) as server:
        admin = server.session()
        deploy(server, admin, DIAGRAM)
        token = admin.headers["Authorization"].split()[1]
        for how in ("business key", "correlation key"):
            rate, cpu = measure(server, token, how, args.waiting, args.clients)
            print(f"  by {how:<16} {rate:8.1f} messages/s, server CPU {cpu:5.2f} ms per message", flush=True)
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
