namespace CommsCredits.Gateway.Metrics;

using System.Globalization;
using System.Text;

/// <summary>
/// The Prometheus text exposition format 0.0.4: "# HELP name text" (backslash and line feed escaped), "# TYPE name
/// type", then one "name{label="value",...} value" line per sample, label values with backslash, double quote and
/// line feed escaped, values as Go floats (+Inf, -Inf, NaN).
/// </summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void WriteHeader(StringBuilder output, string name, string help, string type)
    {
        output.Append("# HELP ").Append(name).Append(' ');
        foreach (var character in help)
        {
            switch (character)
            {
                case '\\': output.Append(@"\\"); break;
                case '\n': output.Append(@"\n"); break;
                default: output.Append(character); break;
            }
        }

        output.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>{name="value",...}, or nothing when there are no labels at all.</summary>
    public static void WriteLabels(StringBuilder output, IReadOnlyList<string> names, in LabelValues values, string? extraName, string? extraValue)
    {
        if (names.Count == 0 && extraName is null)
        {
            return;
        }

        output.Append('{');
        for (var index = 0; index < names.Count; index++)
        {
            if (index > 0)
            {
                output.Append(',');
            }

            WriteLabel(output, names[index], values[index] ?? string.Empty);
        }

        if (extraName is not null)
        {
            if (names.Count > 0)
            {
                output.Append(',');
            }

            WriteLabel(output, extraName, extraValue ?? string.Empty);
        }

        output.Append('}');
    }

    public static void WriteValue(StringBuilder output, double value) => output.Append(' ').Append(FormatValue(value)).Append('\n');

    public static void WriteValue(StringBuilder output, long value) => output.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        // "R" round-trips: the shortest text that parses back to the same double (1E-05 is valid for Go's ParseFloat).
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    public static string EscapeLabelValue(string value)
    {
        var output = new StringBuilder(value.Length);
        AppendEscapedLabelValue(output, value);
        return output.ToString();
    }

    private static void WriteLabel(StringBuilder output, string name, string value)
    {
        output.Append(name).Append("=\"");
        AppendEscapedLabelValue(output, value);
        output.Append('"');
    }

    private static void AppendEscapedLabelValue(StringBuilder output, string value)
    {
        foreach (var character in value)
        {
            switch (character)
            {
                case '\\': output.Append(@"\\"); break;
                case '"': output.Append("\\\""); break;
                case '\n': output.Append(@"\n"); break;
                default: output.Append(character); break;
            }
        }
    }
}

/// <summary>The name rules of the format: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, no leading "__".</summary>
public static class MetricNames
{
    public static void EnsureValidName(string name)
    {
        if (!IsValid(name, allowColon: true))
        {
            throw new ArgumentException($"'{name}' is not a valid metric name", nameof(name));
        }
    }

    public static void EnsureValidLabelName(string name)
    {
        if (!IsValid(name, allowColon: false) || name.StartsWith("__", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid label name", nameof(name));
        }
    }

    private static bool IsValid(string name, bool allowColon)
    {
        if (string.IsNullOrEmpty(name) || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (var character in name)
        {
            if (!(char.IsAsciiLetterOrDigit(character) || character == '_' || allowColon && character == ':'))
            {
                return false;
            }
        }

        return true;
    }
}
