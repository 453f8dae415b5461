namespace CommsCredits.Gateway.Tenants;

using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating;

/// <summary>
/// A tenant's directory as the charging path reads it: users and their entitlements, the toll-free numbers it owns,
/// and its included-minute pools with their sizes. Immutable after construction, so any number of threads may read
/// it; a change is applied by loading a new directory and swapping the tenant's profile.
/// </summary>
public sealed class TenantDirectory
{
    private readonly Dictionary<string, DirectoryUser> users;
    private readonly HashSet<string> tollFreeNumbers;

    // Indexed by the CallType's number; pools only serve OUTBOUND_PSTN and CONFERENCE_DIAL_OUT.
    private readonly PoolPrefixIndex[] poolsByCallType;

    public TenantDirectory(long revision, IEnumerable<DirectoryUser> users, IEnumerable<string> tollFreeNumbers, IEnumerable<MinutePoolDefinition> pools)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        Revision = revision;
        this.users = new Dictionary<string, DirectoryUser>(StringComparer.Ordinal);
        foreach (var user in users)
        {
            if (user.CallingPlan is CallingPlan.Unspecified || !Enum.IsDefined(user.CallingPlan))
            {
                throw new ArgumentException($"user '{user.UserId}' has no valid calling plan ({user.CallingPlan})", nameof(users));
            }

            if (!this.users.TryAdd(user.UserId, user))
            {
                throw new ArgumentException($"user '{user.UserId}' appears twice", nameof(users));
            }
        }

        this.tollFreeNumbers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var number in tollFreeNumbers)
        {
            if (!E164.IsValid(number) || !this.tollFreeNumbers.Add(number))
            {
                throw new ArgumentException($"toll-free number '{number}' is not E.164 or appears twice", nameof(tollFreeNumbers));
            }
        }

        Pools = SizePools(pools, this.users.Values);
        poolsByCallType = [PoolPrefixIndex.Empty, new PoolPrefixIndex(Pools, CallType.OutboundPstn), new PoolPrefixIndex(Pools, CallType.ConferenceDialOut)];
    }

    /// <summary>A directory without users, numbers or pools.</summary>
    public static TenantDirectory Empty { get; } = new(0, [], [], []);

    /// <summary>The tenant's directory revision this directory was loaded at; every change raises it.</summary>
    public long Revision { get; }

    public int UserCount => users.Count;

    /// <summary>The pools with their sizes, in ordinal order of pool id.</summary>
    public IReadOnlyList<DirectoryPool> Pools { get; }

    public bool TryGetUser(string userId, [MaybeNullWhen(false)] out DirectoryUser user) => users.TryGetValue(userId, out user);

    /// <summary>Whether the tenant owns this toll-free number (E.164, with its '+').</summary>
    public bool OwnsTollFreeNumber(string e164) => tollFreeNumbers.Contains(e164);

    /// <summary>
    /// The pool that covers a call of <paramref name="callType"/> to <paramref name="calledNumberE164"/> by
    /// <paramref name="user"/>, or null. Candidates have the call type and serve the user (entitled, and in one of
    /// the pool's countries or any); of those whose covered prefixes start the called number's digits, the one with
    /// the longest such prefix wins, ties going to the lowest pool id (ordinal). Allocates nothing. Throws
    /// <see cref="ArgumentException"/> for a number that is not E.164: the caller validates requests first.
    /// </summary>
    public DirectoryPool? FindPool(CallType callType, string calledNumberE164, DirectoryUser user)
    {
        if (!E164.TryGetDigits(calledNumberE164, out var digits))
        {
            throw new ArgumentException("The called number is not E.164: '+' then 1 to 15 digits, the first 1 to 9.", nameof(calledNumberE164));
        }

        var index = (int)callType;
        return index >= 0 && index < poolsByCallType.Length ? poolsByCallType[index].Find(digits, user) : null;
    }

    private static DirectoryPool[] SizePools(IEnumerable<MinutePoolDefinition> definitions, IEnumerable<DirectoryUser> users)
    {
        // Entitled users per entitlement and country, counted once, so sizing every pool costs pools × countries,
        // not pools × users.
        var entitlements = new[] { PoolEntitlement.DomesticCallingPlan, PoolEntitlement.InternationalCallingPlan, PoolEntitlement.AudioConferencing };
        var counts = new int[entitlements.Length + 1, CountryCode.IndexCount];
        var totals = new int[entitlements.Length + 1];
        foreach (var user in users)
        {
            foreach (var entitlement in entitlements)
            {
                if (user.IsEntitledTo(entitlement))
                {
                    counts[(int)entitlement, user.CountryIndex]++;
                    totals[(int)entitlement]++;
                }
            }
        }

        var pools = new List<DirectoryPool>();
        foreach (var definition in definitions)
        {
            CheckDefinition(definition);
            var entitlement = (int)definition.Entitlement;
            var licensed = definition.UserCountries.Count == 0
                ? totals[entitlement]
                : definition.UserCountries.Distinct(StringComparer.Ordinal).Sum(country => counts[entitlement, CountryCode.Index(country)]);
            pools.Add(new DirectoryPool(definition, licensed));
        }

        pools.Sort(static (left, right) => string.CompareOrdinal(left.PoolId, right.PoolId));
        for (var index = 1; index < pools.Count; index++)
        {
            if (string.Equals(pools[index - 1].PoolId, pools[index].PoolId, StringComparison.Ordinal))
            {
                throw new ArgumentException($"pool '{pools[index].PoolId}' appears twice", nameof(definitions));
            }
        }

        return [.. pools];
    }

    private static void CheckDefinition(MinutePoolDefinition definition)
    {
        var valid = definition.CallType is CallType.OutboundPstn or CallType.ConferenceDialOut
            && definition.Entitlement is PoolEntitlement.DomesticCallingPlan or PoolEntitlement.InternationalCallingPlan or PoolEntitlement.AudioConferencing
            && definition.MinutesPerLicence >= 0
            && definition.CoveredPrefixes.Count > 0
            && definition.CoveredPrefixes.All(prefix => prefix.Length is > 0 and <= E164.MaxDigits && prefix.All(char.IsAsciiDigit));
        if (!valid)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"pool '{definition.PoolId}' is not a valid pool ({definition.CallType}, {definition.Entitlement}, {definition.MinutesPerLicence} minutes, {definition.CoveredPrefixes.Count} prefixes)"),
                nameof(definition));
        }
    }

    /// <summary>
    /// The pools of one call type by covered prefix. A lookup tries the called number's leading digits from the
    /// longest covered length down, with at most 15 allocation-free dictionary probes on spans.
    /// </summary>
    private sealed class PoolPrefixIndex
    {
        // Each prefix's pools are in ordinal order of pool id, so the first that serves the user wins a tie.
        private readonly Dictionary<string, DirectoryPool[]>.AlternateLookup<ReadOnlySpan<char>> byPrefix;
        private readonly int longestPrefix;

        public PoolPrefixIndex(IReadOnlyList<DirectoryPool> sortedPools, CallType callType)
        {
            var lists = new Dictionary<string, List<DirectoryPool>>(StringComparer.Ordinal);
            foreach (var pool in sortedPools.Where(pool => pool.Definition.CallType == callType))
            {
                foreach (var prefix in pool.Definition.CoveredPrefixes.Distinct(StringComparer.Ordinal))
                {
                    if (!lists.TryGetValue(prefix, out var list))
                    {
                        lists[prefix] = list = [];
                    }

                    list.Add(pool);
                    longestPrefix = Math.Max(longestPrefix, prefix.Length);
                }
            }

            var map = lists.ToDictionary(entry => entry.Key, entry => entry.Value.ToArray(), StringComparer.Ordinal);
            byPrefix = map.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public static PoolPrefixIndex Empty { get; } = new([], CallType.Unspecified);

        public DirectoryPool? Find(ReadOnlySpan<char> digits, DirectoryUser user)
        {
            for (var length = Math.Min(digits.Length, longestPrefix); length > 0; length--)
            {
                if (!byPrefix.TryGetValue(digits[..length], out var pools))
                {
                    continue;
                }

                foreach (var pool in pools)
                {
                    if (pool.Serves(user))
                    {
                        return pool;
                    }
                }
            }

            return null;
        }
    }
}
