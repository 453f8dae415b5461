namespace CommsCredits.Gateway.Provisioning;

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

/// <summary>Limits of the tenant directory. Section "Directory".</summary>
public sealed class DirectoryOptions
{
    public const string SectionName = "Directory";

    /// <summary>Most users of one tenant; every gateway holds them all in memory.</summary>
    [Range(1, 1_000_000)]
    public int MaxUsersPerTenant { get; set; } = 100_000;

    /// <summary>Most minute pools of one tenant.</summary>
    [Range(1, 10_000)]
    public int MaxPoolsPerTenant { get; set; } = 100;

    /// <summary>Most toll-free numbers one tenant may own.</summary>
    [Range(1, 1_000_000)]
    public int MaxTollFreeNumbersPerTenant { get; set; } = 10_000;

    /// <summary>Items in a list page when the request asks for 0.</summary>
    [Range(1, 10_000)]
    public int DefaultPageSize { get; set; } = 100;

    /// <summary>Most items a request may ask for in one list page.</summary>
    [Range(1, 10_000)]
    public int MaxPageSize { get; set; } = 1_000;
}

/// <summary>The rules between the Directory settings.</summary>
public sealed class DirectoryOptionsValidator : IValidateOptions<DirectoryOptions>
{
    public ValidateOptionsResult Validate(string? name, DirectoryOptions options)
    {
        if (options.DefaultPageSize > options.MaxPageSize)
        {
            return ValidateOptionsResult.Fail($"Directory:DefaultPageSize ({options.DefaultPageSize}) must not exceed Directory:MaxPageSize ({options.MaxPageSize})");
        }

        return ValidateOptionsResult.Success;
    }
}
