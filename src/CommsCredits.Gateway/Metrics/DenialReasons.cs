namespace CommsCredits.Gateway.Metrics;

using CommsCredits.Contracts.V1;

/// <summary>
/// The reasons of commscredits_grants_denied_total: a fixed list, from the result code and, for 4010 (which has
/// several causes), the words of the result message that CallEntitlements and the charging answers write.
/// </summary>
public static class DenialReasons
{
    public const string InsufficientCredit = "insufficient_credit";
    public const string NotLicensed = "not_licensed";
    public const string NoPlan = "no_plan";
    public const string NotTenantTollFree = "not_tenant_toll_free";
    public const string ServiceDenied = "service_denied";
    public const string UnknownUser = "unknown_user";
    public const string NoRate = "no_rate";
    public const string UnknownSession = "unknown_session";
    public const string TooManySessions = "too_many_sessions";
    public const string TooManyRequests = "too_many_requests";
    public const string Other = "other";

    public static string Of(ResultCode code, string resultMessage) => code switch
    {
        ResultCode.CreditLimitReached => InsufficientCredit,
        ResultCode.UserUnknown => UnknownUser,
        ResultCode.RatingFailed => NoRate,
        ResultCode.UnknownSessionId => UnknownSession,
        ResultCode.EndUserServiceDenied => ServiceDeniedReason(resultMessage),
        _ => Other,
    };

    /// <summary>By the fixed parts of the messages (prefixes and suffixes), so that ids inside them cannot change the reason.</summary>
    private static string ServiceDeniedReason(string message)
    {
        if (message.EndsWith("so may not call the public telephone network", StringComparison.Ordinal))
        {
            return NoPlan;
        }

        if (message.StartsWith("this call would be paid from communications credits", StringComparison.Ordinal)
            || message.StartsWith("the included minutes of pool", StringComparison.Ordinal)
            || message.StartsWith("the call's included minutes are used up", StringComparison.Ordinal))
        {
            return NotLicensed;
        }

        // "+E.164 is not a toll-free number of tenant 'id'": the number before is digits only.
        return message.StartsWith('+') && message.Contains(" is not a toll-free number of tenant '", StringComparison.Ordinal) ? NotTenantTollFree : ServiceDenied;
    }
}
