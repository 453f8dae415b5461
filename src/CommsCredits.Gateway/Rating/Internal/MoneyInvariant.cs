using System.Diagnostics.CodeAnalysis;

namespace CommsCredits.Gateway.Rating.Internal;

/// <summary>
/// Checks of money postconditions that stay on in Release builds: a wrong charge is worse than
/// a failed request, so a broken invariant stops the request instead of charging.
/// </summary>
internal static class MoneyInvariant
{
    public static void Require([DoesNotReturnIf(false)] bool condition, string invariant)
    {
        if (!condition)
        {
            ThrowBroken(invariant);
        }
    }

    [DoesNotReturn]
    private static void ThrowBroken(string invariant) =>
        throw new InvalidOperationException("Money invariant broken: " + invariant + ".");
}
