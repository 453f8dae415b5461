namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>
/// Where the PostgreSQL binaries are and how to run them: PostgreSQL refuses to run as root, so when the
/// tests run as root every PostgreSQL command goes through `runuser -u postgres --`.
/// </summary>
internal sealed class PostgresInstallation
{
    private static readonly Lazy<PostgresInstallation> Found = new(Find, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string binDirectory;
    private readonly string? runuser;
    private readonly SemaphoreSlim templateGate = new(1, 1);
    private string? templateDataDirectory;

    private PostgresInstallation(string binDirectory, string? runuser)
    {
        this.binDirectory = binDirectory;
        this.runuser = runuser;
    }

    public static PostgresInstallation Current => Found.Value;

    public bool RunsAsPostgresUser => runuser is not null;

    /// <summary>The program and arguments that run a PostgreSQL binary as the right user.</summary>
    public (string FileName, IReadOnlyList<string> Arguments) Command(string binary, IEnumerable<string> arguments)
    {
        var path = Path.Combine(binDirectory, binary);
        return runuser is null
            ? (path, arguments.ToList())
            : (runuser, ["-u", "postgres", "--", path, .. arguments]);
    }

    /// <summary>
    /// Fills an empty data directory. initdb runs once per test process, into a template that each server
    /// then copies (cp -a keeps the postgres user's ownership): a copy takes a tenth of an initdb.
    /// </summary>
    public async Task CreateDataDirectoryAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var template = await GetTemplateAsync(cancellationToken);
        await ProcessRunner.RunAsync("cp", ["-a", template, dataDirectory], Path.GetDirectoryName(dataDirectory)!, cancellationToken);
    }

    private static PostgresInstallation Find() =>
        new(ServerBinaries.FindPostgresBinDirectory(), UnixProcesses.IsRoot ? ServerBinaries.FindRunuser() : null);

    private async Task<string> GetTemplateAsync(CancellationToken cancellationToken)
    {
        await templateGate.WaitAsync(cancellationToken);
        try
        {
            if (templateDataDirectory is null)
            {
                var directory = await TestProcessDirectory.CreateServerDirectoryAsync("postgres-template", RunsAsPostgresUser, cancellationToken);
                var dataDirectory = Path.Combine(directory, "data");
                var (fileName, arguments) = Command("initdb", InitdbArguments(dataDirectory));
                await ProcessRunner.RunAsync(fileName, arguments, directory, cancellationToken);
                templateDataDirectory = dataDirectory;
            }

            return templateDataDirectory;
        }
        finally
        {
            templateGate.Release();
        }
    }

    private static string[] InitdbArguments(string dataDirectory) =>
    [
        "--pgdata", dataDirectory,
        "--username", "postgres",
        "--auth", "trust",
        "--encoding", "UTF8",
        "--locale", "C.UTF-8",
        // Test data is thrown away: skip the fsync of every file initdb writes.
        "--no-sync",
    ];
}
