"""A reflection client in the manner of grpcurl, on Debian's python3-grpcio, that knows no CommsCredits proto.

It lists the services, fetches descriptor files by symbol and by name, builds a descriptor pool from the answers
alone, and calls grpc.health.v1.Health/Check and commscredits.v1.Charging/CheckBalance with messages built from it.
Prints one JSON object per case. Arguments: port, path of the generated reflection_pb2.py, tenant id, API key.
"""
import importlib.util
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def load(path):
    spec = importlib.util.spec_from_file_location("reflection_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def emit(case, **fields):
    print(json.dumps({"case": case, **fields}), flush=True)


def main():
    port, module_path, tenant, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    r = load(module_path)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=r.ServerReflectionRequest.SerializeToString,
        response_deserializer=r.ServerReflectionResponse.FromString)
    requests = [
        r.ServerReflectionRequest(list_services=""),
        r.ServerReflectionRequest(file_containing_symbol="grpc.health.v1.Health"),
        r.ServerReflectionRequest(file_containing_symbol="commscredits.v1.Charging.CheckBalance"),
        r.ServerReflectionRequest(file_by_filename="commscredits/v1/charging.proto"),
        r.ServerReflectionRequest(file_containing_symbol="commscredits.v1.NoSuchMessage"),
        r.ServerReflectionRequest(file_by_filename="no/such.proto"),
    ]
    responses = list(info(iter(requests), timeout=30))
    emit("count", requests=len(requests), responses=len(responses))
    emit("list", services=[service.name for service in responses[0].list_services_response.service])

    files = {}
    for case, response in zip(["health_symbol", "method_symbol", "by_name"], responses[1:4]):
        names = []
        for raw in response.file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            names.append(proto.name)
            files[proto.name] = proto
        emit(case, files=names)
    for case, response in zip(["unknown_symbol", "unknown_file"], responses[4:6]):
        emit(case, code=response.error_response.error_code, message=response.error_response.error_message,
             original=response.original_request.WhichOneof("message_request"))

    # Dependencies first, as a descriptor pool needs them.
    pool = descriptor_pool.DescriptorPool()
    added = set()
    while len(added) < len(files):
        ready = [proto for name, proto in files.items() if name not in added and all(d in added for d in proto.dependency)]
        if not ready:
            raise SystemExit(f"the files do not hold their dependencies: {sorted(set(files) - added)}")
        for proto in ready:
            pool.Add(proto)
            added.add(proto.name)
    factory = message_factory.MessageFactory(pool)

    def call(service_name, method_name, metadata=(), **fields):
        method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
        request_type = factory.GetPrototype(method.input_type)
        response_type = factory.GetPrototype(method.output_type)
        unary = channel.unary_unary(f"/{service_name}/{method_name}", request_type.SerializeToString, response_type.FromString)
        return method, unary(request_type(**fields), timeout=10, metadata=metadata)

    method, health = call("grpc.health.v1.Health", "Check", service="")
    status = method.output_type.fields_by_name["status"].enum_type.values_by_number[health.status].name
    emit("health_check", status=status)
    _, balance = call("commscredits.v1.Charging", "CheckBalance", metadata=(("authorization", "Bearer " + key),), tenant_id=tenant)
    emit("check_balance", amount_micros=balance.balance.balance.amount_micros, currency=balance.balance.balance.currency)


if __name__ == "__main__":
    main()
