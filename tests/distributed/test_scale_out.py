"""Many instances through a scaled-out installation: two gunicorn HTTP workers and two Celery
workers on PostgreSQL, with Redis or RabbitMQ as the broker. Every instance passes a plain
service task, a one-second timer (fired by a Celery worker) and a status published to a webhook
(sent by a Celery worker); each must complete, and each webhook post must arrive exactly once."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.distributed.cluster import Cluster, require_broker, wait_until
from tests.distributed.workload import check_exactly_once, describe, engine, prepare, start_all, statuses

pytestmark = [pytest.mark.distributed, pytest.mark.postgres_only, pytest.mark.slow]
INSTANCES = int(os.environ.get("PROCESSCAFE_DISTRIBUTED_INSTANCES", "500"))


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_instances_complete_once_each(broker, tmp_path, database_url, webhook):
    broker_url = require_broker(broker)
    receiver, hook_url = webhook
    cluster = Cluster(tmp_path, database_url, broker_url).start()
    db = engine(database_url)
    try:
        prepare(cluster.server, hook_url)
        start_all(cluster.server, range(INSTANCES))
        done = wait_until(lambda: statuses(db).get("completed") == INSTANCES, timeout=120)
        assert done, f"not all instances completed: {describe(db)}\n{cluster.logs()}"
        wait_until(lambda: len(receiver.requests) >= INSTANCES, timeout=10)
        check_exactly_once(db, receiver, INSTANCES)
        check_operations(cluster)
        check_timer_precision(cluster, db)
    finally:
        cluster.stop()
        db.dispose()


def check_operations(cluster: Cluster) -> None:
    """Readiness sees the broker; /metrics adds up both HTTP workers; doctor finds the workers."""
    url = cluster.server.url
    ready = requests.get(url + "/health/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    text = requests.get(url + "/metrics", timeout=10).text
    started = f'processcafe_http_requests_total{{method="POST",route="/api/v1/process-instances",status="201"}} ' \
              f"{float(INSTANCES)}"
    assert started in text, "the request counts of the two HTTP workers do not add up"
    assert f'processcafe_instances{{status="completed"}} {float(INSTANCES)}' in text
    assert 'processcafe_social_posts{channel="hook",status="sent"}' in text
    worker = requests.get(f"http://127.0.0.1:{cluster.workers[0].metrics_port}/metrics", timeout=10).text
    assert 'processcafe_job_latency_seconds_count{kind="timer"}' in worker
    assert 'processcafe_job_latency_seconds_count{kind="social.send"}' in worker
    doctor = subprocess.run([str(Path(sys.executable).parent / "processcafe"), "doctor"], env=cluster.server.env,
                            capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "2 Celery worker(s) take jobs" in doctor.stdout


def check_timer_precision(cluster: Cluster, db: sa.Engine) -> None:
    """On an idle installation a PT1S timer fires within a second of its due time."""
    start_all(cluster.server, range(INSTANCES, INSTANCES + 3), clients=3)
    assert wait_until(lambda: statuses(db).get("completed") == INSTANCES + 3, timeout=30), statuses(db)
    with db.connect() as conn:
        fired = conn.execute(sa.text(
            "SELECT h.at, h.data FROM history_events h JOIN process_instances i ON i.id = h.instance_id "
            "WHERE h.kind = 'timer_fired' AND i.business_key = ANY(:keys)"),
            {"keys": [f"order-{n}" for n in range(INSTANCES, INSTANCES + 3)]}).all()
    late = [(at - datetime.fromisoformat(data["due"])).total_seconds() for at, data in fired]
    assert len(late) == 3 and all(0 <= s < 1 for s in late), f"timers fired late by {late} s"
