namespace CommsCredits.Gateway.Hosting;

using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Options;

/// <summary>
/// Checks an options class's data annotations and says what is wrong in the operator's terms: the setting's full name
/// and, for a number, the allowed range and the value given ("Settlement:MaxBatchSize must be between 1 and 10000 (got
/// 0)"). Text values are never repeated in a message: they may be connection strings or passwords.
/// </summary>
public sealed class SettingsValidator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] TOptions>(string section) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var property in typeof(TOptions).GetProperties())
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanRead)
            {
                continue;
            }

            var value = property.GetValue(options);
            foreach (var attribute in property.GetCustomAttributes(typeof(ValidationAttribute), inherit: true).Cast<ValidationAttribute>())
            {
                if (!attribute.IsValid(value))
                {
                    failures.Add(Describe(section + ":" + property.Name, attribute, value));
                }
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static string Describe(string setting, ValidationAttribute attribute, object? value) => attribute switch
    {
        RangeAttribute range => string.Create(
            CultureInfo.InvariantCulture, $"{setting} must be between {Number(range.Minimum)} and {Number(range.Maximum)} (got {Number(value)})"),
        RequiredAttribute => $"{setting} is required",
        MinLengthAttribute minimum => string.Create(CultureInfo.InvariantCulture, $"{setting} must have at least {minimum.Length} character(s)"),
        _ => $"{setting} is not valid: {attribute.FormatErrorMessage(setting)}",
    };

    /// <summary>A bound in plain digits: RangeAttribute keeps a long bound as a double, which would print as 1E+18.</summary>
    private static string Number(object? value) => value switch
    {
        null => "nothing",
        double number when Math.Abs(number) < 1e28 && number == Math.Floor(number) => ((decimal)number).ToString(CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "nothing",
    };
}
