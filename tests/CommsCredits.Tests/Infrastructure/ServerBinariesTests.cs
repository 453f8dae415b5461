using CommsCredits.Tests.Infrastructure.Internal;
using Shouldly;
using Xunit;

namespace CommsCredits.Tests.Infrastructure;

public sealed class ServerBinariesTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("commscredits-binaries-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void The_highest_installed_PostgreSQL_version_is_chosen()
    {
        // Proves versions compare as numbers (15 > 9.6), and that a version without the server binaries is skipped.
        CreateFakeBinaries("9.6");
        CreateFakeBinaries("15");
        Directory.CreateDirectory(Path.Combine(root, "16", "bin")); // client only: no postgres, no initdb

        ServerBinaries.FindPostgresBinDirectory(root, _ => null).ShouldBe(Path.Combine(root, "15", "bin"));
    }

    [Fact]
    public void Missing_binaries_fail_with_what_to_install()
    {
        // Proves the error names the Debian package to install and the override variable.
        Should.Throw<InvalidOperationException>(() => ServerBinaries.FindPostgresBinDirectory(root, _ => null))
            .Message.ShouldSatisfyAllConditions(
                message => message.ShouldContain("apt-get install postgresql"),
                message => message.ShouldContain("COMMSCREDITS_TEST_POSTGRES"));
        Should.Throw<InvalidOperationException>(() => ServerBinaries.FindRedisServer(_ => null))
            .Message.ShouldSatisfyAllConditions(
                message => message.ShouldContain("apt-get install redis-server"),
                message => message.ShouldContain("COMMSCREDITS_TEST_REDIS"));
    }

    private void CreateFakeBinaries(string version)
    {
        var bin = Directory.CreateDirectory(Path.Combine(root, version, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "postgres"), string.Empty);
        File.WriteAllText(Path.Combine(bin, "initdb"), string.Empty);
    }
}
