namespace CommsCredits.Gateway.Rating.Internal;

/// <summary>
/// The rate table of one call type as a digit trie in flat arrays: a lookup walks at most 15
/// nodes, allocates nothing, and reads only arrays that never change after construction, so
/// any number of threads may read one trie at once.
/// </summary>
internal sealed class PrefixTrie
{
    private const int Radix = 10;

    // children[node * 10 + digit] is the child's node index; 0 means no child, since the root
    // (node 0) is nobody's child.
    private readonly int[] children;

    // The versions of node n are versions[firstVersion[n] .. firstVersion[n] + versionCount[n]),
    // sorted by effective_from ascending so that a binary search finds the one in force.
    private readonly int[] firstVersion;
    private readonly int[] versionCount;
    private readonly long[] effectiveFromUtcTicks;
    private readonly Tariff[] tariffs;

    /// <param name="sortedTariffs">One call type's tariffs sorted by prefix, then effective_from, without duplicates.</param>
    public PrefixTrie(IReadOnlyList<Tariff> sortedTariffs)
    {
        var childList = new List<int>(Radix);
        childList.AddRange(new int[Radix]);
        var firstVersionList = new List<int> { 0 };
        var versionCountList = new List<int> { 0 };
        for (var index = 0; index < sortedTariffs.Count; index++)
        {
            var node = AddPath(sortedTariffs[index].Prefix, childList, firstVersionList, versionCountList);
            if (versionCountList[node] == 0)
            {
                firstVersionList[node] = index;
            }

            versionCountList[node]++;
        }

        children = [.. childList];
        firstVersion = [.. firstVersionList];
        versionCount = [.. versionCountList];
        tariffs = [.. sortedTariffs];
        effectiveFromUtcTicks = [.. sortedTariffs.Select(tariff => tariff.EffectiveFrom.UtcTicks)];
    }

    /// <summary>
    /// The tariff of the longest prefix of <paramref name="digits"/> that has a version in force
    /// at <paramref name="atUtcTicks"/>, in that prefix's latest version in force.
    /// </summary>
    public Tariff? Find(ReadOnlySpan<char> digits, long atUtcTicks)
    {
        Tariff? found = null;
        var node = 0;
        foreach (var digit in digits)
        {
            node = children[(node * Radix) + (digit - '0')];
            if (node == 0)
            {
                break;
            }

            // A longer prefix replaces a shorter one only when it has a version in force.
            found = LatestInForce(node, atUtcTicks) ?? found;
        }

        return found;
    }

    private Tariff? LatestInForce(int node, long atUtcTicks)
    {
        var low = firstVersion[node];
        var high = low + versionCount[node] - 1;
        var latest = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            if (effectiveFromUtcTicks[middle] <= atUtcTicks)
            {
                latest = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return latest < 0 ? null : tariffs[latest];
    }

    private static int AddPath(string prefix, List<int> childList, List<int> firstVersionList, List<int> versionCountList)
    {
        var node = 0;
        foreach (var digit in prefix)
        {
            var slot = (node * Radix) + (digit - '0');
            if (childList[slot] == 0)
            {
                childList[slot] = firstVersionList.Count;
                childList.AddRange(new int[Radix]);
                firstVersionList.Add(0);
                versionCountList.Add(0);
            }

            node = childList[slot];
        }

        return node;
    }
}
