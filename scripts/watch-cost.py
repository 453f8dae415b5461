#!/usr/bin/python3
"""What Balances/Watch costs a running gateway: CPU of the gateway and Redis commands, idle and with watchers.

Creates --tenants tenants (watch-cost-0001, ...; ones that exist are reused), opens --watchers-per-tenant Watch
streams on each over one HTTP/2 connection, waits until every stream has its first message, then samples the gateway's
CPU time (/proc/<pid>/stat) and Redis's total_commands_processed over --seconds, first with no watch open and then with
all of them open. Prints one line:

    watch-cost: tenants=N watchers=N seconds=S idle_cpu_pct=X watch_cpu_pct=X idle_redis_cps=N watch_redis_cps=N messages=N

Needs an admin key (--key or COMMSCREDITS_KEY; `make run` writes one to .local/demo-keys.env) and Debian's
python3-grpcio, python3-protobuf and protoc, like examples/python/call.py:

    . .local/demo-keys.env && COMMSCREDITS_KEY=$COMMSCREDITS_ADMIN_KEY scripts/watch-cost.py --gateway-pid $(cat .local/gateway.pid)
"""
import argparse
import asyncio
import importlib
import os
import subprocess
import sys
import tempfile
import time

import grpc

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def generated_modules(output_directory):
    protos = os.path.join(REPOSITORY, "protos")
    files = [os.path.join(protos, "commscredits", "v1", name) for name in ("common.proto", "charging.proto", "accounts.proto", "balances.proto")]
    subprocess.run(["/usr/bin/protoc", "-I", protos, "-I", "/usr/include", "--python_out", output_directory, *files], check=True)
    sys.path.insert(0, output_directory)
    return importlib.import_module("commscredits.v1.accounts_pb2"), importlib.import_module("commscredits.v1.balances_pb2")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def redis_commands(port):
    info = subprocess.run(["redis-cli", "-p", str(port), "INFO", "stats"], check=True, capture_output=True, text=True).stdout
    for line in info.splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("redis INFO stats has no total_commands_processed")


async def sample(seconds, pid, redis_port):
    cpu, commands, started = cpu_seconds(pid), redis_commands(redis_port), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return 100 * (cpu_seconds(pid) - cpu) / elapsed, (redis_commands(redis_port) - commands) / elapsed


async def measure(arguments, accounts, balances):
    metadata = (("authorization", "Bearer " + arguments.key),)
    async with grpc.aio.insecure_channel(arguments.address) as channel:
        create = channel.unary_unary(
            "/commscredits.v1.Accounts/CreateTenant",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=lambda data: data)
        tenants = [f"watch-cost-{index:04d}" for index in range(1, arguments.tenants + 1)]
        for tenant in tenants:
            try:
                await create(accounts.CreateTenantRequest(tenant_id=tenant, currency="USD", display_name=tenant), metadata=metadata, timeout=10)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise

        idle_cpu, idle_cps = await sample(arguments.seconds, arguments.gateway_pid, arguments.redis_port)

        watch = channel.unary_stream(
            "/commscredits.v1.Balances/Watch",
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=balances.BalanceChange.FromString)
        messages = 0
        first = asyncio.Event()
        started = 0
        total = len(tenants) * arguments.watchers_per_tenant

        calls = []

        async def follow(tenant):
            nonlocal messages, started
            call = watch(balances.WatchBalanceRequest(tenant_id=tenant), metadata=metadata)
            calls.append(call)
            try:
                async for change in call:
                    messages += 1
                    if change.sequence == 1:
                        started += 1
                        if started == total:
                            first.set()
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.CANCELLED:
                    raise

        streams = [asyncio.create_task(follow(tenant)) for tenant in tenants for _ in range(arguments.watchers_per_tenant)]
        await asyncio.wait_for(first.wait(), timeout=60)
        messages = 0
        watch_cpu, watch_cps = await sample(arguments.seconds, arguments.gateway_pid, arguments.redis_port)
        for call in calls:
            call.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        print(f"watch-cost: tenants={len(tenants)} watchers={total} seconds={arguments.seconds} idle_cpu_pct={idle_cpu:.1f} "
              f"watch_cpu_pct={watch_cpu:.1f} idle_redis_cps={idle_cps:.0f} watch_redis_cps={watch_cps:.0f} messages={messages}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:5080")
    parser.add_argument("--key", default=os.environ.get("COMMSCREDITS_KEY"))
    parser.add_argument("--gateway-pid", type=int, required=True)
    parser.add_argument("--redis-port", type=int, default=16379)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--watchers-per-tenant", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()
    if not arguments.key:
        parser.error("an admin API key is needed: --key or COMMSCREDITS_KEY")
    if not 1 <= arguments.tenants <= 10_000 or not 1 <= arguments.watchers_per_tenant <= 1_000:
        parser.error("--tenants is 1 to 10,000 and --watchers-per-tenant 1 to 1,000")
    with tempfile.TemporaryDirectory() as directory:
        accounts, balances = generated_modules(directory)
        asyncio.run(measure(arguments, accounts, balances))


if __name__ == "__main__":
    main()
