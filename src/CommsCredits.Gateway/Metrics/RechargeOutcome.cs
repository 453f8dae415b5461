namespace CommsCredits.Gateway.Metrics;

/// <summary>The outcomes of commscredits_recharge_attempts_total.</summary>
public static class RechargeOutcome
{
    /// <summary>Charged and funded.</summary>
    public const string Funded = "funded";

    /// <summary>The provider declined the payment method (an expired card, say): the request failed, the tenant is told.</summary>
    public const string Declined = "declined";

    /// <summary>The provider did not say what became of the charge: it is asked before the next try.</summary>
    public const string Unknown = "unknown";

    /// <summary>Not taken in Recharge:MaxAttempts attempts.</summary>
    public const string GaveUp = "gave_up";

    /// <summary>Storage failed or the funding was refused while working on it; its lease frees it for another try.</summary>
    public const string Error = "error";
}
