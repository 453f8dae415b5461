namespace CommsCredits.Gateway.Charging;

/// <summary>A client's text repeated in an error message: cut to a bound, so a huge field cannot make a huge answer.</summary>
public static class EchoedText
{
    public static string Shorten(string value, int maxLength) => value.Length <= maxLength ? value : value[..maxLength] + "...";
}
