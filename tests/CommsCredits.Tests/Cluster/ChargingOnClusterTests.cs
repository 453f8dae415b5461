namespace CommsCredits.Tests.Cluster;

using CommsCredits.Tests.Charging;

// The charging-path tests, each run again on a gateway whose Storage:Redis lists the nodes of a three-primary Redis
// Cluster: every script runs on the primary of its tenant's slot, through the client's MOVED handling, and the tests'
// own reads of Redis go through a cluster connection too.

/// <summary>Reserve, Update and Terminate (<see cref="SessionChargingTests"/>) on a Redis Cluster.</summary>
public sealed class SessionChargingOnClusterTests : SessionChargingTests
{
    protected override Task<GatewayInstance> GatewayAsync() => ClusterGateway.GetAsync();
}

/// <summary>Concurrent calls of one tenant (<see cref="ConcurrentCallsTests"/>) on a Redis Cluster.</summary>
public sealed class ConcurrentCallsOnClusterTests : ConcurrentCallsTests
{
    protected override Task<GatewayInstance> GatewayAsync() => ClusterGateway.GetAsync();
}

/// <summary>Debit, Refund, CheckBalance and PriceEnquiry (<see cref="EventChargingTests"/>) on a Redis Cluster.</summary>
public sealed class EventChargingOnClusterTests : EventChargingTests
{
    protected override Task<GatewayInstance> GatewayAsync() => ClusterGateway.GetAsync();
}
