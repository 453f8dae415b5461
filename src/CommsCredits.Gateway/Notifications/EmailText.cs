namespace CommsCredits.Gateway.Notifications;

using System.Globalization;
using System.Text;
using System.Text.Json;

/// <summary>
/// An event in words for an email: the subject "CommsCredits: &lt;what happened&gt;" and a plain-text body with amounts
/// in major units and the currency. Payload fields it does not know are ignored; a missing one reads "unknown".
/// </summary>
public static class EmailText
{
    public static (string Subject, string Body) For(ClaimedDelivery delivery)
    {
        using var payload = JsonDocument.Parse(delivery.PayloadJson);
        var facts = payload.RootElement;
        var currency = Text(facts, "currency");
        var (what, sentence) = delivery.Kind switch
        {
            "recharge_succeeded" => (
                "auto-recharge succeeded",
                $"An auto-recharge of {Amount(facts, "amount_micros", currency)} succeeded. The balance is now {Amount(facts, "balance_micros", currency)}."),
            "recharge_failed" => (
                "auto-recharge failed",
                $"An auto-recharge of {Amount(facts, "amount_micros", currency)} failed: {Text(facts, "reason")}. Calls paid from credit are refused once the balance runs out."),
            "balance_reached_zero" => (
                "balance reached zero",
                "The balance reached zero. Calls paid from credit are refused until funds are added."),
            "funds_expired" => (
                "funds expired",
                $"{Amount(facts, "amount_micros", currency)} of funds reached their expiry and were forfeited."),
            "low_balance" => (
                "low balance",
                $"The balance fell below {Amount(facts, "level_micros", currency)}: it is now {Amount(facts, "balance_micros", currency)}."),
            _ => ("notification " + delivery.Kind, "An event of kind " + delivery.Kind + " happened."),
        };
        var body = new StringBuilder()
            .Append("Tenant ").Append(delivery.TenantId).Append(": ").Append(sentence).Append("\r\n\r\n")
            .Append("Event id: ").Append(delivery.EventId).Append("\r\n")
            .Append("Occurred at: ").Append(NotificationEnvelope.OccurredAt(delivery.OccurredAt)).Append(" (UTC)\r\n");
        return ("CommsCredits: " + what, body.ToString());
    }

    /// <summary>Micro-units in major units: at least two decimals, up to six ("50.00 EUR", "0.123456 EUR").</summary>
    public static string MajorUnits(long micros, string currency) =>
        (micros / 1_000_000m).ToString("0.00####", CultureInfo.InvariantCulture) + " " + currency;

    private static string Amount(JsonElement facts, string field, string currency) =>
        facts.ValueKind == JsonValueKind.Object && facts.TryGetProperty(field, out var value) && value.TryGetInt64(out var micros)
            ? MajorUnits(micros, currency)
            : "an unknown amount";

    private static string Text(JsonElement facts, string field) =>
        facts.ValueKind == JsonValueKind.Object && facts.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : "unknown";
}
