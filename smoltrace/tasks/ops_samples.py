"""The sample files of the `smoltrace-ops-benchmark` suite: a small, fictional production system.

The ops tasks ask an agent to read logs, metrics, configuration, Kubernetes manifests, deployment
history, security scans and bills of one imaginary shop ("Larkspur"): a gateway, an orders service,
a payments service, Postgres, Redis. The facts the tasks' keywords check are in these files and not in
the task prompts, so an agent (or the `mock` oracle) must really read them with the file tools.

Everything is generated deterministically (no clock, no randomness): the same folder on every machine.
No value here is a real credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_FILES", "write_ops_sample_data"]

DAY = "2026-03-14"


def _json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def _at(minute: int, second: int = 0, hour: int = 14) -> str:
    return f"{DAY}T{hour:02d}:{minute:02d}:{second:02d}Z"


def _app_log() -> str:
    lines = []
    for i in range(40):
        minute, second = 10 + i // 4, (i * 13) % 60
        lines.append(f"{_at(minute, second)} INFO  [orders] order {4100 + i} created in 42 ms")
        if i % 5 == 2:
            lines.append(
                f"{_at(minute, second + 1 if second < 59 else 0)} ERROR [checkout] "
                f"PaymentGatewayTimeout: payments service did not answer within 5000 ms "
                f"(order {4100 + i}, cause: upstream pool saturated)"
            )
        if i % 13 == 6:
            lines.append(f"{_at(minute, 30)} WARN  [inventory] stock cache miss for sku-{200 + i}")
    lines.append(f"{_at(21, 5)} ERROR [search] IndexUnavailable: search index rebuilding")
    return "\n".join(lines) + "\n"


def _gateway_log() -> str:
    lines = []
    for minute in range(20, 40):
        for k in range(3):
            status = "200"
            if 31 <= minute <= 34 and k != 0:
                status = "503"
            elif minute == 27 and k == 2:
                status = "404"
            lines.append(
                f"{_at(minute, k * 17)} gateway route=/api/orders status={status} "
                f"upstream=orders latency_ms={35 + k * 4 if status == '200' else 30000}"
            )
    lines.append(f"{_at(31, 2)} gateway circuit breaker OPEN for upstream orders (burst began)")
    return "\n".join(lines) + "\n"


def _auth_log() -> str:
    lines = []
    for i in range(12):
        lines.append(f"{_at(5 + i)} auth login ok user=clerk{i:02d} ip=10.20.1.{10 + i}")
    for i in range(9):
        lines.append(
            f"{_at(40, i * 5, hour=3)} auth login FAILED user=admin ip=203.0.113.77 "
            "reason=bad_password (credential stuffing suspected)"
        )
    lines.append(f"{_at(41, 10, hour=3)} auth login ok user=admin ip=203.0.113.77 mfa=skipped")
    return "\n".join(lines) + "\n"


def _user_service_log() -> str:
    return (
        f"{_at(29, 58)} INFO  user-service request_id=req-7c41 GET /users/81 200 18 ms\n"
        f"{_at(30, 0)} INFO  user-service request_id=req-9f2e GET /users/82 200 21 ms\n"
        f"{_at(30, 4)} WARN  user-service request_id=req-9f2e profile lookup slow: 2900 ms in "
        "recommendations-client\n"
        f"{_at(30, 7)} INFO  user-service request_id=req-5d10 GET /users/90 200 17 ms\n"
    )


def _postgres_log() -> str:
    lines = [
        f"{_at(28, s)} LOG:  connection authorized: user=orders database=shop"
        for s in range(0, 60, 10)
    ]
    lines += [
        f"{_at(30, 12)} FATAL:  remaining connection slots are reserved for superuser connections",
        f"{_at(30, 13)} FATAL:  sorry, too many clients already (max_connections=100)",
        f"{_at(30, 40)} LOG:  checkpoint complete: wrote 1204 buffers",
    ]
    return "\n".join(lines) + "\n"


def _lb_log() -> str:
    return (
        f"{_at(30, 0)} lb health check orders-1 ok\n"
        f"{_at(30, 30)} lb health check orders-2 FAILED (timeout) marking unhealthy\n"
        f"{_at(31, 0)} lb health check orders-3 FAILED (timeout) marking unhealthy\n"
        f"{_at(31, 1)} lb only 1 of 3 backends healthy for pool orders\n"
    )


def _mysql_slow_log() -> str:
    return (
        "# Time: 2026-03-14T02:00:03Z\n"
        "# Query_time: 12.41  Lock_time: 0.01 Rows_sent: 20  Rows_examined: 4810233\n"
        "SELECT * FROM order_items WHERE customer_email = 'x@example.com' ORDER BY created_at DESC LIMIT 20;\n"
        "# Time: 2026-03-14T02:05:09Z\n"
        "# Query_time: 0.92  Lock_time: 0.00 Rows_sent: 1  Rows_examined: 15010\n"
        "SELECT COUNT(*) FROM carts WHERE updated_at > NOW() - INTERVAL 1 DAY;\n"
        "# Time: 2026-03-14T02:07:44Z\n"
        "# Query_time: 8.77  Lock_time: 0.02 Rows_sent: 3  Rows_examined: 2210001\n"
        "SELECT sku, SUM(qty) FROM order_items GROUP BY sku HAVING SUM(qty) > 1000;\n"
        "# note: order_items has no index on customer_email (full table scan)\n"
    )


def _access_log() -> str:
    lines = []
    for i in range(30):
        lines.append(
            f'10.20.1.{i % 7 + 10} - - [14/Mar/2026:09:{i:02d}:00 +0000] "GET /products/{i} HTTP/1.1" 200 512'
        )
    for i in range(12):
        lines.append(
            f"198.51.100.23 - - [14/Mar/2026:03:{10 + i:02d}:00 +0000] "
            f'"GET /admin/export?table=customers&page={i} HTTP/1.1" 200 48211'
        )
    lines.append(
        '198.51.100.23 - - [14/Mar/2026:03:23:00 +0000] "GET /../../etc/passwd HTTP/1.1" 400 0'
    )
    return "\n".join(lines) + "\n"


def _transactions_log() -> str:
    return (
        f"{_at(12, 0, 11)} txn=txn-4417-ab step=reserve_stock service=inventory ok\n"
        f"{_at(12, 1, 11)} txn=txn-4417-ab step=charge_card service=payments ok\n"
        f"{_at(12, 2, 11)} txn=txn-4417-ab step=create_shipment service=shipping ok\n"
        f"{_at(15, 0, 11)} txn=txn-5520-qz step=reserve_stock service=inventory ok\n"
        f"{_at(15, 1, 11)} txn=txn-5520-qz step=charge_card service=payments ok\n"
        f"{_at(15, 9, 11)} txn=txn-5520-qz step=create_shipment service=shipping FAILED "
        "error=CarrierApiDown\n"
        f"{_at(15, 10, 11)} txn=txn-5520-qz compensation refund_card NOT RUN (saga handler missing)\n"
    )


def _series(name: str, values: list[float], unit: str, **extra: Any) -> str:
    points = [
        {"timestamp": _at(i * 5 % 60, hour=8 + i * 5 // 60), "value": v}
        for i, v in enumerate(values)
    ]
    return _json({"metric": name, "unit": unit, "host": "orders-1", **extra, "points": points})


SampleBuilder = Callable[[], str]

SAMPLE_FILES: dict[str, SampleBuilder] = {
    "logs/app.log": _app_log,
    "logs/gateway.log": _gateway_log,
    "logs/auth.log": _auth_log,
    "logs/user-service.log": _user_service_log,
    "logs/postgres.log": _postgres_log,
    "logs/lb.log": _lb_log,
    "logs/mysql-slow.log": _mysql_slow_log,
    "logs/access.log": _access_log,
    "logs/transactions/2026-03-14.log": _transactions_log,
    "metrics/cpu_metrics.json": lambda: _series(
        "cpu_utilization",
        [41, 44, 47, 52, 61, 78, 88, 93, 91, 86],
        "percent",
        alert_threshold=80,
        top_process="report-builder",
    ),
    "metrics/memory_metrics.json": lambda: _series(
        "heap_used_mb",
        [1020, 1110, 1205, 1290, 1388, 1472, 1561, 1650],
        "MB",
        limit_mb=2048,
        process="orders-worker",
        note="grows about 90 MB every 5 minutes and never drops after garbage collection",
    ),
    "metrics/disk_metrics.json": lambda: _json(
        {
            "volume": "/var/lib/postgresql",
            "size_gb": 500,
            "daily_used_gb": [350, 358, 366, 374, 382, 390, 398],
            "growth_gb_per_day": 8,
            "largest_consumer": "wal_archive",
            "note": "WAL segments are archived every minute and never pruned",
        }
    ),
    "metrics/db_connections.json": lambda: _json(
        {
            "pool": "orders-db-pool",
            "max_connections": 100,
            "samples": [
                {"time": _at(m), "active": a, "waiting": w}
                for m, a, w in ((26, 62, 0), (28, 88, 3), (30, 100, 41), (32, 100, 57))
            ],
            "leak_suspect": "reporting-job keeps idle transactions open",
        }
    ),
    "metrics/api_latency.json": lambda: _json(
        {
            "endpoint": "/api/checkout",
            "p50_ms": 180,
            "p95_ms": 2400,
            "p99_ms": 4100,
            "breakdown_ms": {"auth": 12, "cart": 40, "fraud_check": 1900, "payments": 310},
            "slowest_span": "fraud_check",
        }
    ),
    "metrics/db_query_times.json": lambda: _json(
        {
            "top_queries": [
                {"table": "order_items", "avg_ms": 12410, "calls_per_min": 30},
                {"table": "carts", "avg_ms": 920, "calls_per_min": 5},
            ]
        }
    ),
    "metrics/cache_stats.json": lambda: _json(
        {
            "cache": "redis-sessions",
            "hit_rate_before": 0.94,
            "hit_rate_now": 0.58,
            "evictions_per_min": 4200,
            "maxmemory_mb": 256,
            "change": "maxmemory lowered from 2048 MB during the last deploy",
        }
    ),
    "metrics/traffic.json": lambda: _json(
        {
            "service": "orders",
            "instances": 4,
            "rps_per_instance_capacity": 250,
            "forecast_peak_rps": 1800,
            "event": "spring_sale",
        }
    ),
    "k8s/deployment.yaml": lambda: (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n"
        "  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: orders\n"
        "          image: registry.larkspur.example/orders:latest\n"
        "          ports:\n            - containerPort: 8080\n"
        "          # no resources: block, no livenessProbe or readinessProbe\n"
    ),
    "config/.env.production": lambda: (
        "APP_ENV=production\nDB_HOST=orders-db.prod.internal\nDB_POOL_SIZE=20\n"
        "PAYMENTS_URL=https://payments.prod.internal\nFEATURE_NEW_CHECKOUT=false\n"
        "CACHE_TTL_SECONDS=300\nLOG_LEVEL=info\n"
    ),
    "config/.env.staging": lambda: (
        "APP_ENV=staging\nDB_HOST=orders-db.staging.internal\nDB_POOL_SIZE=50\n"
        "PAYMENTS_URL=https://payments.staging.internal\nFEATURE_NEW_CHECKOUT=true\n"
        "CACHE_TTL_SECONDS=300\nLOG_LEVEL=debug\n"
    ),
    "config/nginx.conf": lambda: (
        "server {\n    listen 80;\n    server_name shop.larkspur.example;\n"
        "    ssl_protocols TLSv1 TLSv1.1;\n    server_tokens on;\n"
        "    location /api/ {\n        proxy_pass http://orders:8080\n"
        "        proxy_read_timeout 300s;\n    }\n}\n"
        "# line 7 is missing its semicolon after proxy_pass\n"
    ),
    "config/database.yml": lambda: (
        "production:\n  adapter: postgresql\n  host: orders-db.prod.internal\n"
        "  pool: 20\n  checkout_timeout: 5\n  reaping_frequency: null\n"
        "  # 6 app instances x pool 20 = 120 connections > max_connections 100\n"
    ),
    "config/services.yml": lambda: (
        "services:\n  gateway:\n    depends_on: [orders]\n  orders:\n"
        "    depends_on: [payments, postgres]\n    timeout_ms: 30000\n    retries: 5\n"
        "  payments:\n    depends_on: [fraud]\n  fraud:\n    depends_on: []\n"
    ),
    "config/redis.conf": lambda: (
        "port 6379\nmaxmemory 256mb\nmaxmemory-policy allkeys-lru\nappendonly no\n"
    ),
    "config/certificates.json": lambda: _json(
        {
            "checked_on": DAY,
            "certificates": [
                {"domain": "shop.larkspur.example", "expires": "2026-09-30", "days_left": 200},
                {"domain": "api.larkspur.example", "expires": "2026-03-26", "days_left": 12},
                {"domain": "admin.larkspur.example", "expires": "2026-04-02", "days_left": 19},
            ],
        }
    ),
    "config/encryption.yml": lambda: (
        "at_rest:\n  database: aes-256\n  backups: none\ntransport:\n  internal_tls: false\n"
    ),
    "config/iam_policies.json": lambda: _json(
        {
            "policies": [
                {"name": "ci-deployer", "actions": ["*"], "resources": ["*"], "mfa": False},
                {"name": "readonly-analyst", "actions": ["s3:GetObject"], "mfa": True},
            ]
        }
    ),
    "config/audit.conf": lambda: (
        "audit_logging=disabled\nlog_retention_days=7\ncardholder_data_scope=orders-db\n"
        "# PCI requires at least 365 days of audit log retention\n"
    ),
    "deployments/history.json": lambda: _json(
        {
            "deployments": [
                {"version": "v2.14.0", "time": _at(0, hour=9), "service": "orders", "status": "ok"},
                {
                    "version": "v2.15.0",
                    "time": _at(25),
                    "service": "orders",
                    "status": "ok",
                    "changes": ["redis maxmemory 2048mb -> 256mb", "db pool 50 -> 20"],
                },
            ]
        }
    ),
    "deployments/changelog.txt": lambda: (
        "v2.15.0 (14:25): new checkout flow, smaller redis, smaller DB pool\n"
        "v2.14.0 (09:00): search index rebuild job\n"
    ),
    "backups/manifest.json": lambda: _json(
        {
            "checked_on": f"{DAY}T14:00:00Z",
            "backups": [
                {"database": "orders", "last_success": "2026-03-14T02:00:00Z", "size_gb": 41},
                {"database": "payments", "last_success": "2026-03-11T02:00:00Z", "size_gb": 12},
                {"database": "users", "last_success": "2026-03-13T23:00:00Z", "size_gb": 3},
            ],
        }
    ),
    "security/scan_results.json": lambda: _json(
        {
            "scanner": "larkspur-scan 4.2",
            "findings": [
                {"id": "CVE-2026-1142", "package": "libxmlsoft", "cvss": 9.8, "fixed_in": "2.13.1"},
                {"id": "CVE-2026-0877", "package": "imgresize", "cvss": 7.5, "fixed_in": "1.4.0"},
                {"id": "CVE-2025-9001", "package": "colorlog", "cvss": 3.1, "fixed_in": "6.0.2"},
            ],
        }
    ),
    "billing/aws_costs.json": lambda: _json(
        {
            "month": "2026-02",
            "total_usd": 48210,
            "by_service": {
                "ec2": 29100,
                "rds": 9800,
                "s3": 4100,
                "ebs_snapshots": 3900,
                "other": 1310,
            },
            "idle_instances": [
                {"id": "i-0a12", "type": "m5.4xlarge", "avg_cpu": 3, "monthly_usd": 560},
                {"id": "i-0b34", "type": "m5.4xlarge", "avg_cpu": 4, "monthly_usd": 560},
            ],
        }
    ),
    "storage/inventory.json": lambda: _json(
        {
            "volumes": [
                {"id": "vol-771", "attached": False, "size_gb": 1000, "monthly_usd": 80},
            ],
            "snapshots": [
                {"id": f"snap-{n:03d}", "age_days": 400 + n, "monthly_usd": 25} for n in range(1, 9)
            ],
            "policy": "snapshots older than 90 days may be deleted",
        }
    ),
    "state/services.json": lambda: _json(
        {
            "orders": {"status": "degraded", "healthy_instances": 1, "instances": 3},
            "payments": {"status": "ok"},
            "fraud": {"status": "slow"},
        }
    ),
}


def write_ops_sample_data(folder: str | Path) -> list[Path]:
    """Write every sample file below `folder` (created if needed); returns the paths written."""
    root = Path(folder)
    written = []
    for relative, build in SAMPLE_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build(), encoding="utf-8")
        written.append(path)
    return written
