#!/usr/bin/python3
"""One full call against a CommsCredits gateway, with Debian's C-core gRPC client (python3-grpcio).

Reserve, two Updates and a Terminate, then the balance, printed as one JSON object. The messages are generated
from protos/ at run time with Debian's protoc (apt-get install python3-grpcio python3-protobuf protobuf-compiler).
Every call carries a network-element API key ("authorization: Bearer <key>"): --key, or the environment variable
COMMSCREDITS_KEY (`make call` takes it from the keys `make run` wrote to .local/demo-keys.env). A call the gateway
refuses prints {"error": {"code": ..., "details": ...}} and exits with 1.

    COMMSCREDITS_KEY=cck_... /usr/bin/python3 examples/python/call.py --address 127.0.0.1:5080 --tenant demo
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import uuid

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def generated_modules(output_directory):
    """Generates the Python messages of protos/commscredits/v1 and imports them."""
    protos = os.path.join(REPOSITORY, "protos")
    files = [os.path.join(protos, "commscredits", "v1", name) for name in ("common.proto", "charging.proto", "accounts.proto")]
    subprocess.run(["/usr/bin/protoc", "-I", protos, "-I", "/usr/include", "--python_out", output_directory, *files], check=True)
    sys.path.insert(0, output_directory)
    charging = importlib.import_module("commscredits.v1.charging_pb2")
    return charging


def unary(channel, method, request, response_type, timeout_seconds, key):
    call = channel.unary_unary(
        "/commscredits.v1.Charging/" + method,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    return call(request, timeout=timeout_seconds, metadata=(("authorization", "Bearer " + key),))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:5080")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--user", default="carol@demo.example",
                        help="the calling user, a user of the tenant (default: the demo tenant's pay-as-you-go user)")
    parser.add_argument("--calling", default="+14155550100")
    parser.add_argument("--called", default="+442079460000")
    parser.add_argument("--used", type=int, nargs=3, default=[60, 60, 25], metavar=("FIRST", "SECOND", "LAST"),
                        help="seconds reported by the two Updates and the Terminate")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--key", default=os.environ.get("COMMSCREDITS_KEY"),
                        help="network-element API key (default: $COMMSCREDITS_KEY)")
    arguments = parser.parse_args()
    if not arguments.key:
        parser.error("no API key: pass --key or set COMMSCREDITS_KEY (make run prints the demo keys)")

    import grpc  # Debian's python3-grpcio: the C-core client

    try:
        print(json.dumps(one_call(arguments, grpc)))
    except grpc.RpcError as error:
        print(json.dumps({"error": {"code": error.code().name, "details": error.details()}}))
        sys.exit(1)


def one_call(arguments, grpc):
    """Reserve, two Updates, Terminate and CheckBalance; returns what they answered."""
    with tempfile.TemporaryDirectory() as directory:
        charging = generated_modules(directory)
        session = "python-example;" + uuid.uuid4().hex
        results = {"session_id": session}
        with grpc.insecure_channel(arguments.address) as channel:
            def call(method, request, response_type):
                return unary(channel, method, request, response_type, arguments.timeout, arguments.key)

            reserve = call("Reserve", charging.ReserveRequest(
                session_id=session, request_number=0, tenant_id=arguments.tenant, user_id=arguments.user,
                call_type=1, calling_number=arguments.calling, called_number=arguments.called, requested_seconds=60),
                charging.ReserveResponse)
            results["reserve"] = {"result_code": reserve.result_code, "granted_seconds": reserve.granted_seconds,
                                  "reserved_micros": reserve.reserved.amount_micros,
                                  "rate_per_minute_micros": reserve.rate.rate_per_minute.amount_micros,
                                  "connection_fee_micros": reserve.rate.connection_fee.amount_micros,
                                  "first_increment_seconds": reserve.rate.first_increment_seconds,
                                  "next_increment_seconds": reserve.rate.next_increment_seconds}
            if reserve.result_code == 2001:
                for number, used in ((1, arguments.used[0]), (2, arguments.used[1])):
                    update = call("Update", charging.UpdateRequest(
                        session_id=session, request_number=number, tenant_id=arguments.tenant, used_seconds=used,
                        requested_seconds=60), charging.UpdateResponse)
                    results["update_%d" % number] = {"result_code": update.result_code,
                                                     "charged_micros": update.charged.amount_micros,
                                                     "granted_seconds": update.granted_seconds}
                end = call("Terminate", charging.TerminateRequest(
                    session_id=session, request_number=3, tenant_id=arguments.tenant, used_seconds=arguments.used[2],
                    termination_cause=1), charging.TerminateResponse)
                results["terminate"] = {"result_code": end.result_code, "charged_micros": end.charged.amount_micros,
                                        "session_charged_micros": end.session_charged.amount_micros,
                                        "used_seconds": end.used_seconds, "billed_seconds": end.billed_seconds,
                                        "currency": end.session_charged.currency}
            balance = call("CheckBalance", charging.CheckBalanceRequest(tenant_id=arguments.tenant), charging.CheckBalanceResponse)
            results["balance_micros"] = balance.balance.balance.amount_micros
            results["held_micros"] = balance.balance.held.amount_micros
        return results


if __name__ == "__main__":
    main()
