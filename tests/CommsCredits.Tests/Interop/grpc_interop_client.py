#!/usr/bin/python3
"""Interop cases run by a gRPC client we did not write (Debian's python3-grpcio, C-core underneath) against
our transport. Usage: grpc_interop_client.py PORT ECHO_PB2_PATH. Prints one JSON object per case on stdout;
the xunit tests in PythonInteropTests.cs assert each one."""

import importlib.util
import json
import sys
import time

import grpc

SERVICE = "/commscredits.testing.v1.EchoService/"


def load_messages(path):
    spec = importlib.util.spec_from_file_location("echo_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metadata_to_json(metadata):
    """Metadata as a dict; binary values (bytes) as hex, since JSON has no bytes."""
    result = {}
    for key, value in metadata or ():
        result[key] = value.hex() if isinstance(value, bytes) else value
    return result


def error_to_json(error):
    return {
        "code": error.code().name,
        "details": error.details(),
        "trailers": metadata_to_json(error.trailing_metadata()),
    }


class Cases:
    def __init__(self, channel, echo):
        self.echo = echo
        self.unary = channel.unary_unary(
            SERVICE + "Unary",
            request_serializer=echo.EchoRequest.SerializeToString,
            response_deserializer=echo.EchoResponse.FromString)
        self.missing = channel.unary_unary(
            SERVICE + "Missing",
            request_serializer=echo.EchoRequest.SerializeToString,
            response_deserializer=echo.EchoResponse.FromString)
        self.server_stream = channel.unary_stream(
            SERVICE + "ServerStream",
            request_serializer=echo.EchoRequest.SerializeToString,
            response_deserializer=echo.EchoResponse.FromString)
        self.client_stream = channel.stream_unary(
            SERVICE + "ClientStream",
            request_serializer=echo.EchoRequest.SerializeToString,
            response_deserializer=echo.EchoResponse.FromString)
        self.bidi = channel.stream_stream(
            SERVICE + "Bidi",
            request_serializer=echo.EchoRequest.SerializeToString,
            response_deserializer=echo.EchoResponse.FromString)

    def unary_ok(self):
        response, call = self.unary.with_call(self.echo.EchoRequest(text="hello from python"), timeout=10)
        return {"code": call.code().name, "text": response.text}

    def application_error(self):
        request = self.echo.EchoRequest(fail_code=9, fail_message="crédit épuisé: 5 € < 10 € (100%)")
        try:
            self.unary(request, timeout=10)
            return {"code": "OK"}
        except grpc.RpcError as error:
            return error_to_json(error)

    def deadline_exceeded(self):
        started = time.monotonic()
        try:
            self.unary(self.echo.EchoRequest(delay_ms=3000, observe_cancellation=False), timeout=0.3)
            return {"code": "OK"}
        except grpc.RpcError as error:
            result = error_to_json(error)
            result["elapsed_seconds"] = time.monotonic() - started
            return result

    def unknown_method(self):
        try:
            self.missing(self.echo.EchoRequest(), timeout=10)
            return {"code": "OK"}
        except grpc.RpcError as error:
            return error_to_json(error)

    def metadata(self):
        request_metadata = (("echo-text", "from python"), ("echo-data-bin", b"\x00\x01\xfe\xff"))
        response, call = self.unary.with_call(
            self.echo.EchoRequest(echo_metadata=True), metadata=request_metadata, timeout=10)
        return {
            "code": call.code().name,
            "headers": metadata_to_json(call.initial_metadata()),
            "trailers": metadata_to_json(call.trailing_metadata()),
            "keys_seen_by_handler": list(response.request_metadata_keys),
        }

    def server_streaming(self):
        call = self.server_stream(self.echo.EchoRequest(text="s", response_count=5), timeout=10)
        indexes = [response.index for response in call]
        return {"code": call.code().name, "indexes": indexes}

    def client_streaming(self):
        requests = iter([self.echo.EchoRequest(text=text) for text in ("a", "b", "c")])
        response = self.client_stream(requests, timeout=10)
        return {"code": "OK", "text": response.text, "count": response.index}

    def bidirectional(self):
        requests = iter([self.echo.EchoRequest(text=text) for text in ("x", "y", "z")])
        call = self.bidi(requests, timeout=10)
        texts = [response.text for response in call]
        return {"code": call.code().name, "texts": texts}


def main():
    port = int(sys.argv[1])
    echo = load_messages(sys.argv[2])
    # The proxy settings of the machine must not divert a loopback connection.
    channel = grpc.insecure_channel("127.0.0.1:%d" % port, options=[("grpc.enable_http_proxy", 0)])
    grpc.channel_ready_future(channel).result(timeout=10)
    cases = Cases(channel, echo)
    names = ["unary_ok", "application_error", "deadline_exceeded", "unknown_method", "metadata",
             "server_streaming", "client_streaming", "bidirectional"]
    for name in names:
        try:
            result = getattr(cases, name)()
        except Exception as error:  # a failed case is reported, and the others still run
            result = {"code": "CLIENT_FAILURE", "error": repr(error)}
        result["case"] = name
        print(json.dumps(result), flush=True)
    channel.close()


if __name__ == "__main__":
    main()
