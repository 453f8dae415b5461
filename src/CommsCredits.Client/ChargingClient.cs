namespace CommsCredits.Client;

/// <summary>Placeholder removed once the transport client exists.</summary>
internal static class ClientAssembly;
