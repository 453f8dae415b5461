namespace CommsCredits.Tests.Balances;

using CommsCredits.Gateway.Balances;
using CommsCredits.Gateway.Storage;
using CommsCredits.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using StackExchange.Redis;
using Xunit;

/// <summary>
/// The store's SCAN and HSCAN walks (the sweeper's and the incarnation check's): every page of a cursor is read,
/// only matching keys come back, and the caller's bound stops the walk. Pages are 500 items, so 1,234 items take
/// several pages.
/// </summary>
public sealed class RedisHotStoreScanTests
{
    private const int Items = 1_234;

    [Fact]
    public async Task Key_and_hash_walks_read_every_page_and_stop_at_their_bound()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        using (var seed = await ConnectionMultiplexer.ConnectAsync(redis.Configuration))
        {
            var database = seed.GetDatabase();
            var writes = new List<Task>();
            for (var index = 0; index < Items; index++)
            {
                writes.Add(database.StringSetAsync("cc:{t" + index + "}:pending", "x"));
                writes.Add(database.StringSetAsync("other:" + index, "x"));
                writes.Add(database.HashSetAsync("cc:{big}:pending", "field" + index, "value" + index));
            }

            await Task.WhenAll(writes);
        }

        using var store = new RedisHotStore(
            Options.Create(new StorageOptions { Redis = redis.Configuration }), NullLogger<RedisHotStore>.Instance);

        var keys = await store.ScanKeysAsync("cc:{t*}:pending", 10_000, CancellationToken.None);
        keys.Count.ShouldBe(Items);
        keys.Distinct(StringComparer.Ordinal).Count().ShouldBe(Items);
        keys.ShouldAllBe(key => key.StartsWith("cc:{t", StringComparison.Ordinal));
        (await store.ScanKeysAsync("cc:{t*}:pending", 700, CancellationToken.None)).Count.ShouldBe(700);

        var values = await store.ReadHashValuesAsync("cc:{big}:pending", 10_000, CancellationToken.None);
        values.Order(StringComparer.Ordinal).ShouldBe(Enumerable.Range(0, Items).Select(index => "value" + index).Order(StringComparer.Ordinal));
        (await store.ReadHashValuesAsync("cc:{big}:pending", 700, CancellationToken.None)).Count.ShouldBe(700);
        (await store.ReadHashValuesAsync("cc:{absent}:pending", 10, CancellationToken.None)).ShouldBeEmpty();
    }
}
