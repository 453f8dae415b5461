namespace CommsCredits.Gateway.Storage;

using System.ComponentModel.DataAnnotations;

/// <summary>Where Redis and PostgreSQL are, and how long we wait for them. Section "Storage".</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>StackExchange.Redis configuration string ("host:port,password=..."); a Redis Cluster is found by itself.</summary>
    [Required]
    public string Redis { get; set; } = "127.0.0.1:16379";

    /// <summary>Npgsql connection string.</summary>
    [Required]
    public string Postgres { get; set; } = "Host=127.0.0.1;Port=15432;Username=postgres;Database=commscredits";

    /// <summary>How long one Redis command may take before the request fails with UNAVAILABLE.</summary>
    [Range(10, 60_000)]
    public int RedisTimeoutMs { get; set; } = 1_000;

    /// <summary>How long one PostgreSQL command may take (Npgsql CommandTimeout).</summary>
    [Range(1, 600)]
    public int PostgresCommandTimeoutSeconds { get; set; } = 10;

    /// <summary>Apply pending schema migrations when the gateway starts (the `migrate` command does it on demand).</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Upper bound on pooled PostgreSQL connections of this process (Npgsql MaxPoolSize).</summary>
    [Range(2, 1_000)]
    public int PostgresMaxPoolSize { get; set; } = 32;
}
