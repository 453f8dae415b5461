namespace CommsCredits.Gateway.Charging;

using CommsCredits.Contracts.V1;
using CommsCredits.Gateway.Money;
using CommsCredits.Gateway.Rating;
using CommsCredits.Grpc.Protocol;

/// <summary>
/// Checks the fields of incoming requests. A bad field fails the request with INVALID_ARGUMENT and a message that
/// names the field and says what is wrong, before anything is read or written.
/// </summary>
public static class RequestValidator
{
    public const int MaxSessionIdLength = 128;
    public const int MaxUserIdLength = 128;
    public const int MaxTenantIdLength = 64;
    public const int MaxTextLength = 256;

    /// <summary>The fields of a request that starts a call (Reserve) or rates a whole one (Debit).</summary>
    public static void NewCall(string sessionId, uint requestNumber, string tenantId, string userId, CallType callType, string callingNumber, string calledNumber)
    {
        SessionId(sessionId);
        RequestNumber(requestNumber, initialOrEvent: true);
        TenantId(tenantId);
        UserId(userId);
        CallTypeDefined(callType);
        Number(callingNumber, "calling_number");
        Number(calledNumber, "called_number");
    }

    public static void SessionId(string value, string field = "session_id") => PrintableAscii(value, field, MaxSessionIdLength);

    public static void UserId(string value) => PrintableAscii(value, "user_id", MaxUserIdLength);

    public static void TenantId(string value, string field = "tenant_id")
    {
        if (!IsTenantId(value))
        {
            throw Invalid($"{field} must be 1 to {MaxTenantIdLength} characters from [A-Za-z0-9._-] starting with a letter or digit (got '{EchoedText.Shorten(value, 40)}')");
        }
    }

    public static bool IsTenantId(string value)
    {
        if (value.Length is 0 or > MaxTenantIdLength || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var character in value)
        {
            if (!char.IsAsciiLetterOrDigit(character) && character is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public static void CallTypeDefined(CallType callType)
    {
        if (callType is not (CallType.OutboundPstn or CallType.ConferenceDialOut or CallType.TollFreeInbound))
        {
            throw Invalid($"call_type must be OUTBOUND_PSTN, CONFERENCE_DIAL_OUT or TOLL_FREE_INBOUND (got {(int)callType})");
        }
    }

    public static void Number(string value, string field)
    {
        if (!E164.IsValid(value))
        {
            throw Invalid($"{field} must be an E.164 number: '+' then 1 to {E164.MaxDigits} digits, the first not 0 (got '{EchoedText.Shorten(value, 40)}')");
        }
    }

    public static void Seconds(uint value, string field)
    {
        if (value > MoneyLimits.MaxSecondsPerRequest)
        {
            throw Invalid($"{field} must be at most {MoneyLimits.MaxSecondsPerRequest} (got {value})");
        }
    }

    public static void RequestNumber(uint value, bool initialOrEvent)
    {
        if (initialOrEvent && value != 0)
        {
            throw Invalid($"request_number must be 0 for an initial or event request (got {value})");
        }

        if (!initialOrEvent && value == 0)
        {
            throw Invalid("request_number must be 1 or more for an update or termination (0 belongs to the initial request)");
        }
    }

    public static void Text(string value, string field, bool required)
    {
        if (value.Length == 0)
        {
            if (required)
            {
                throw Invalid($"{field} is required");
            }

            return;
        }

        if (value.Length > MaxTextLength)
        {
            throw Invalid($"{field} must be at most {MaxTextLength} characters (got {value.Length})");
        }

        foreach (var character in value)
        {
            if (char.IsControl(character))
            {
                throw Invalid($"{field} must not contain control characters");
            }
        }
    }

    /// <summary>A money field: positive, at most <paramref name="maxMicros"/>, in the tenant's currency.</summary>
    public static long PositiveAmount(Contracts.V1.Money? amount, string field, string currency, long maxMicros)
    {
        if (amount is null)
        {
            throw Invalid($"{field} is required");
        }

        if (!string.Equals(amount.Currency, currency, StringComparison.Ordinal))
        {
            throw Invalid($"{field}.currency must be the tenant's currency {currency} (got '{EchoedText.Shorten(amount.Currency, 40)}')");
        }

        if (amount.AmountMicros <= 0 || amount.AmountMicros > maxMicros)
        {
            throw Invalid($"{field}.amount_micros must be between 1 and {maxMicros} (got {amount.AmountMicros})");
        }

        return amount.AmountMicros;
    }

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static void PrintableAscii(string value, string field, int maxLength)
    {
        if (value.Length == 0 || value.Length > maxLength)
        {
            throw Invalid($"{field} must be 1 to {maxLength} printable ASCII characters (got {value.Length})");
        }

        foreach (var character in value)
        {
            if (character is < '!' or > '~')
            {
                throw Invalid($"{field} must contain only printable ASCII characters without spaces (0x21 to 0x7E)");
            }
        }
    }

}
