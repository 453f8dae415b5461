using System.Globalization;

namespace CommsCredits.Tests.Infrastructure.Internal;

/// <summary>Finds redis-server, the PostgreSQL server binaries and runuser, or says what to install.</summary>
internal static class ServerBinaries
{
    public const string DebianPostgresRoot = "/usr/lib/postgresql";

    private const string InstallHint = "run `make test` (its install-deps step installs the test dependencies) or `scripts/install-deps.sh test`";

    private static readonly string[] SystemDirectories = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"];

    public static string FindRedisServer() => FindRedisServer(FindOnPath);

    public static string FindRedisServer(Func<string, string?> findOnPath) =>
        findOnPath("redis-server")
        ?? throw new InvalidOperationException(
            "redis-server was not found on PATH or in the system directories. Install it with `sudo apt-get install redis-server`, or "
            + InstallHint + "; or set " + TestServerSettings.RedisVariable + "=host:port to use a Redis that is already running.");

    public static string FindPostgresBinDirectory() => FindPostgresBinDirectory(DebianPostgresRoot, FindOnPath);

    /// <summary>The bin directory of the highest PostgreSQL version under <paramref name="debianRoot"/>, else the one holding `postgres` on PATH.</summary>
    public static string FindPostgresBinDirectory(string debianRoot, Func<string, string?> findOnPath) =>
        FindHighestVersionBinDirectory(debianRoot)
        ?? FindBinDirectoryOnPath(findOnPath)
        ?? throw new InvalidOperationException(
            "The PostgreSQL server binaries (postgres, initdb) were not found in " + debianRoot + "/<version>/bin or on PATH. "
            + "Install them with `sudo apt-get install postgresql`, or " + InstallHint + "; or set "
            + TestServerSettings.PostgresVariable + " to the connection string of a PostgreSQL that is already running.");

    public static string FindRunuser() =>
        FindOnPath("runuser")
        ?? throw new InvalidOperationException(
            "PostgreSQL refuses to run as root, and runuser (package util-linux), which starts it as the postgres user, was not found. "
            + "Install util-linux, or run the tests as a user other than root.");

    public static string? FindOnPath(string name)
    {
        var pathDirectories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries);
        return pathDirectories.Concat(SystemDirectories)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
    }

    private static string? FindHighestVersionBinDirectory(string debianRoot)
    {
        if (!Directory.Exists(debianRoot))
        {
            return null;
        }

        return Directory.EnumerateDirectories(debianRoot)
            .Select(directory => (Directory: directory, Version: ParseVersion(Path.GetFileName(directory))))
            .Where(candidate => candidate.Version is not null)
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => Path.Combine(candidate.Directory, "bin"))
            .FirstOrDefault(IsPostgresBinDirectory);
    }

    private static string? FindBinDirectoryOnPath(Func<string, string?> findOnPath)
    {
        var onPath = findOnPath("postgres");
        if (onPath is null)
        {
            return null;
        }

        // Follow symbolic links (/usr/local/bin/postgres -> /usr/lib/postgresql/15/bin/postgres) to find initdb beside it.
        var target = new FileInfo(onPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? onPath;
        var directory = Path.GetDirectoryName(target)!;
        return IsPostgresBinDirectory(directory) ? directory : null;
    }

    private static bool IsPostgresBinDirectory(string directory) =>
        File.Exists(Path.Combine(directory, "postgres")) && File.Exists(Path.Combine(directory, "initdb"));

    // Debian names the directories "15", "16" (and "9.6" in older releases).
    private static Version? ParseVersion(string name) =>
        int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            ? new Version(major, 0)
            : Version.TryParse(name, out var version) ? version : null;
}
