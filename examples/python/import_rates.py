#!/usr/bin/python3
"""Uploads a rate file (CSV) to a CommsCredits gateway with Debian's C-core gRPC client (python3-grpcio).

The file goes in chunks over the client-streaming RPC Accounts/ImportRateCsv; the format is in docs/rating.md
("Rate files"). Prints one JSON object: {"imported_rows": N, "revision": R}, or, when the gateway refuses the file,
{"code": "INVALID_ARGUMENT", "details": "line 4: prefix: ..."} and exits with 1. It needs an admin API key: --key, or
the environment variable COMMSCREDITS_KEY (`make run` prints the demo admin key).

    COMMSCREDITS_ADMIN_KEY=cck_... /usr/bin/python3 examples/python/import_rates.py --address 127.0.0.1:5080 \
        --key "$COMMSCREDITS_ADMIN_KEY" --tenant demo --file rates.csv
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_CHUNK_BYTES = 1024 * 1024


def accounts_module(output_directory):
    """Generates the Python messages of protos/commscredits/v1 with Debian's protoc and imports accounts_pb2."""
    protos = os.path.join(REPOSITORY, "protos")
    files = [os.path.join(protos, "commscredits", "v1", name) for name in ("common.proto", "charging.proto", "accounts.proto")]
    subprocess.run(["/usr/bin/protoc", "-I", protos, "-I", "/usr/include", "--python_out", output_directory, *files], check=True)
    sys.path.insert(0, output_directory)
    return importlib.import_module("commscredits.v1.accounts_pb2")


def chunks(accounts, tenant, path, chunk_bytes):
    """The file as RateCsvChunk messages: tenant_id in the first only; an empty file is one empty chunk."""
    with open(path, "rb") as source:
        first = True
        while True:
            data = source.read(chunk_bytes)
            if not data and not first:
                return
            yield accounts.RateCsvChunk(tenant_id=tenant if first else "", data=data)
            first = False
            if len(data) < chunk_bytes:
                return


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:5080")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--file", required=True, help="the rate file to upload")
    parser.add_argument("--chunk-bytes", type=int, default=256 * 1024, help="bytes per chunk, 1 to 1 MiB")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--key", default=os.environ.get("COMMSCREDITS_KEY"), help="admin API key (default: $COMMSCREDITS_KEY)")
    arguments = parser.parse_args()
    if not arguments.key:
        parser.error("no API key: pass --key or set COMMSCREDITS_KEY (make run prints the demo keys)")
    if not 1 <= arguments.chunk_bytes <= MAX_CHUNK_BYTES:
        parser.error("--chunk-bytes must be 1 to %d" % MAX_CHUNK_BYTES)

    import grpc  # Debian's python3-grpcio: the C-core client

    with tempfile.TemporaryDirectory() as directory:
        accounts = accounts_module(directory)
        with grpc.insecure_channel(arguments.address) as channel:
            upload = channel.stream_unary(
                "/commscredits.v1.Accounts/ImportRateCsv",
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=accounts.ImportRatesResponse.FromString,
            )
            try:
                response = upload(chunks(accounts, arguments.tenant, arguments.file, arguments.chunk_bytes),
                                  timeout=arguments.timeout, metadata=(("authorization", "Bearer " + arguments.key),))
            except grpc.RpcError as error:
                print(json.dumps({"code": error.code().name, "details": error.details()}))
                sys.exit(1)
            print(json.dumps({"imported_rows": response.imported_rows, "revision": response.revision}))


if __name__ == "__main__":
    main()
