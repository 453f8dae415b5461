using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Rating.Internal;

namespace CommsCredits.Gateway.Rating;

/// <summary>
/// The rate tables of one tenant, one per call type, held in memory for rating calls.
/// Immutable after construction: any number of threads may look up at once, and a new import
/// is applied by building a new book and swapping the reference.
/// </summary>
/// <remarks>
/// The rule (docs/rating.md): among the prefixes of the number's digits that have a version
/// in force at the given moment (effective_from ≤ at), the longest wins, in its latest version
/// in force. A longer prefix whose versions all start later does not hide a shorter one.
/// </remarks>
public sealed class RateBook
{
    /// <summary>
    /// At most a million versions per tenant: ten times a large carrier's table, and it bounds
    /// the trie to 15 million nodes even when no two prefixes share a digit.
    /// </summary>
    public const int MaxVersions = 1_000_000;

    // Indexed by the CallType's number; index 0 (unspecified) is never used.
    private readonly PrefixTrie[] tables;

    public RateBook(IEnumerable<RateVersion> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        var all = versions.ToList();
        if (all.Count > MaxVersions)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"A rate book holds at most {MaxVersions} versions, got {all.Count}."),
                nameof(versions));
        }

        var tableCount = (int)CallType.TollFreeInbound + 1;
        tables = new PrefixTrie[tableCount];
        for (var callTypeNumber = 0; callTypeNumber < tableCount; callTypeNumber++)
        {
            tables[callTypeNumber] = new PrefixTrie(SortedTariffs(all, (CallType)callTypeNumber));
        }

        VersionCount = all.Count;
    }

    /// <summary>A book without any rate: every lookup fails.</summary>
    public static RateBook Empty { get; } = new([]);

    public int VersionCount { get; }

    /// <summary>
    /// The tariff for a call of <paramref name="callType"/> to (or, for toll-free, from)
    /// <paramref name="e164Number"/> at <paramref name="at"/>; false when no rate applies.
    /// Throws <see cref="ArgumentException"/> for a number that is not E.164 or a call type
    /// that has no table: the caller validates requests first (see <see cref="E164"/>).
    /// </summary>
    public bool TryFind(CallType callType, ReadOnlySpan<char> e164Number, DateTimeOffset at, [NotNullWhen(true)] out Tariff? tariff)
    {
        TariffRules.ThrowIfBroken(TariffRules.CallTypeError(callType), "call_type", nameof(callType));
        if (!E164.TryGetDigits(e164Number, out var digits))
        {
            throw new ArgumentException("The number is not E.164: '+' then 1 to 15 digits, the first 1 to 9.", nameof(e164Number));
        }

        tariff = tables[(int)callType].Find(digits, at.UtcTicks);
        return tariff is not null;
    }

    /// <inheritdoc cref="TryFind(CallType, ReadOnlySpan{char}, DateTimeOffset, out Tariff?)"/>
    public bool TryFind(CallType callType, string e164Number, DateTimeOffset at, [NotNullWhen(true)] out Tariff? tariff)
    {
        ArgumentNullException.ThrowIfNull(e164Number);
        return TryFind(callType, e164Number.AsSpan(), at, out tariff);
    }

    /// <summary>
    /// The number a call is rated on: the called number for outbound and conference dial-out
    /// calls (where the call goes decides its price), the calling number for toll-free inbound
    /// calls (the tenant pays for where the caller comes from).
    /// </summary>
    public static string RatedNumber(CallType callType, string callingNumber, string calledNumber) => callType switch
    {
        CallType.OutboundPstn or CallType.ConferenceDialOut => calledNumber,
        CallType.TollFreeInbound => callingNumber,
        _ => throw new ArgumentOutOfRangeException(nameof(callType), callType, "The call type has no rate table."),
    };

    private static List<Tariff> SortedTariffs(List<RateVersion> versions, CallType callType)
    {
        var tariffs = versions.Where(version => version.CallType == callType).Select(version => version.Tariff).ToList();
        tariffs.Sort(static (left, right) =>
        {
            var byPrefix = string.CompareOrdinal(left.Prefix, right.Prefix);
            return byPrefix != 0 ? byPrefix : left.EffectiveFrom.UtcTicks.CompareTo(right.EffectiveFrom.UtcTicks);
        });
        for (var index = 1; index < tariffs.Count; index++)
        {
            var previous = tariffs[index - 1];
            var current = tariffs[index];
            if (string.Equals(previous.Prefix, current.Prefix, StringComparison.Ordinal)
                && previous.EffectiveFrom.UtcTicks == current.EffectiveFrom.UtcTicks)
            {
                // Two versions in force from the same moment would make the price ambiguous.
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Two rate versions of {callType} prefix {current.Prefix} take effect at {current.EffectiveFrom:O}."),
                    nameof(versions));
            }
        }

        return tariffs;
    }
}
