namespace CommsCredits.Tests.Fuzzing;

using System.Collections;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

/// <summary>
/// Well-formed protobuf messages of any type with random field values, built from the message descriptor alone:
/// edge values (0, -1, extremes, empty and very long strings, control characters, unknown enum numbers) mixed with
/// plausible ones (the tenant under test, E.164 numbers), so that some requests get past validation.
/// </summary>
public static class RandomMessages
{
    /// <summary>How deep nested message fields are filled; deeper ones stay unset.</summary>
    public const int MaxDepth = 3;

    /// <summary>Elements per repeated field at most.</summary>
    public const int MaxRepeated = 4;

    private static readonly string[] PlausibleStrings =
    [
        "", "alice@example.com", "bob@example.com", "+442079460000", "+15550100", "EUR", "USD", "GB", "session-1", "s-fuzz",
        "Europe/London", "https://127.0.0.1:1/hook", "prefix,rate\n+44,1", "cck_x_y", "0", "-1", " ", "\u00e9\u4e2d\U0001F600",
        "a{b}", "../../etc/passwd", "%00", "\t\r\n",
    ];

    public static IMessage Create(MessageDescriptor descriptor, Random random, string tenantId, int depth = 0)
    {
        var message = descriptor.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            if (random.Next(4) == 0)
            {
                continue;
            }

            if (field.IsMap)
            {
                FillMap(field, message, random, tenantId, depth);
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                var count = random.Next(MaxRepeated + 1);
                for (var index = 0; index < count; index++)
                {
                    if (Value(field, random, tenantId, depth) is { } value)
                    {
                        list.Add(value);
                    }
                }
            }
            else if (Value(field, random, tenantId, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }

        return message;
    }

    public static string RandomString(Random random, string tenantId) => random.Next(10) switch
    {
        0 or 1 or 2 => tenantId,
        3 or 4 or 5 => PlausibleStrings[random.Next(PlausibleStrings.Length)],
        6 => new string((char)random.Next(0x20, 0x7f), random.Next(60, 300)),
        7 => new string('x', random.Next(1000, 20_000)),
        _ => RandomText(random, random.Next(1, 40)),
    };

    private static void FillMap(FieldDescriptor field, IMessage message, Random random, string tenantId, int depth)
    {
        var map = (IDictionary)field.Accessor.GetValue(message);
        var keyField = field.MessageType.FindFieldByNumber(1);
        var valueField = field.MessageType.FindFieldByNumber(2);
        var count = random.Next(MaxRepeated + 1);
        for (var index = 0; index < count; index++)
        {
            if (Value(keyField, random, tenantId, depth) is { } key && Value(valueField, random, tenantId, depth) is { } value)
            {
                map[key] = value;
            }
        }
    }

    private static object? Value(FieldDescriptor field, Random random, string tenantId, int depth) => field.FieldType switch
    {
        FieldType.String => RandomString(random, tenantId),
        FieldType.Bytes => ByteString.CopyFrom(RandomBytes(random, random.Next(0, 64))),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Double => Pick(random, [0d, -1d, double.NaN, double.PositiveInfinity, double.MaxValue, random.NextDouble() * 1e6]),
        FieldType.Float => Pick(random, [0f, -1f, float.NaN, float.NegativeInfinity, float.MaxValue, (float)random.NextDouble()]),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick(random, [0, 1, -1, int.MaxValue, int.MinValue, random.Next(-1000, 100_000)]),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 =>
            Pick(random, [0L, 1L, -1L, long.MaxValue, long.MinValue, 50_000_000L, random.NextInt64(-1_000_000_000, 1_000_000_000)]),
        FieldType.UInt32 or FieldType.Fixed32 => Pick(random, [0u, 1u, 60u, 86_400u, 86_401u, uint.MaxValue, (uint)random.Next(0, 100_000)]),
        FieldType.UInt64 or FieldType.Fixed64 => Pick(random, [0ul, 1ul, ulong.MaxValue, (ulong)random.NextInt64(0, long.MaxValue)]),
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, random.Next(3) == 0
            ? Pick(random, [-1, 42, int.MaxValue])
            : field.EnumType.Values[random.Next(field.EnumType.Values.Count)].Number),
        FieldType.Message or FieldType.Group => depth >= MaxDepth ? null : Create(field.MessageType, random, tenantId, depth + 1),
        _ => throw new InvalidOperationException($"field {field.FullName} has type {field.FieldType}, which RandomMessages does not know"),
    };

    private static T Pick<T>(Random random, T[] choices) => choices[random.Next(choices.Length)];

    private static string RandomText(Random random, int length)
    {
        var builder = new StringBuilder(length);
        for (var index = 0; index < length; index++)
        {
            // Any UTF-16 code unit but lone surrogates, which protobuf cannot encode as UTF-8.
            var next = (char)random.Next(0, 0xD800);
            builder.Append(next);
        }

        return builder.ToString();
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
