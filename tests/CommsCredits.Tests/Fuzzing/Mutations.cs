namespace CommsCredits.Tests.Fuzzing;

/// <summary>
/// Mutations of an encoded protobuf message: bit flips, truncation, inserted and duplicated bytes, wire types
/// changed, huge or overlong varint lengths, unknown fields, deeply nested groups, invalid UTF-8 in a string, a
/// tag with field number 0. Each returns the new bytes and names itself, for the failure report.
/// </summary>
public static class Mutations
{
    /// <summary>Mutations applied to one message at most.</summary>
    public const int MaxPerMessage = 3;

    /// <summary>Nested groups at most: far beyond protobuf's recursion limit of 100.</summary>
    public const int MaxGroupDepth = 5_000;

    private static readonly Func<byte[], Random, (byte[] Bytes, string Name)>[] All =
    [
        FlipBits, Truncate, InsertBytes, DuplicateSlice, ChangeWireType, HugeLength, UnknownField, NestedGroups, InvalidUtf8,
        OverlongVarint, FieldNumberZero,
    ];

    public static (byte[] Bytes, string Names) Mutate(byte[] message, Random random)
    {
        var names = new List<string>();
        var count = random.Next(1, MaxPerMessage + 1);
        for (var index = 0; index < count; index++)
        {
            var (bytes, name) = All[random.Next(All.Length)](message, random);
            message = bytes;
            names.Add(name);
        }

        return (message, string.Join("+", names));
    }

    private static (byte[], string) FlipBits(byte[] message, Random random)
    {
        if (message.Length == 0)
        {
            return ([(byte)random.Next(256)], "flip(empty->1 byte)");
        }

        var copy = (byte[])message.Clone();
        var flips = random.Next(1, 5);
        for (var index = 0; index < flips; index++)
        {
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        }

        return (copy, $"flip({flips})");
    }

    private static (byte[], string) Truncate(byte[] message, Random random)
    {
        var length = message.Length == 0 ? 0 : random.Next(message.Length);
        return (message[..length], $"truncate({length})");
    }

    private static (byte[], string) InsertBytes(byte[] message, Random random)
    {
        var at = random.Next(message.Length + 1);
        var inserted = RandomMessages.RandomBytes(random, random.Next(1, 16));
        return ([.. message[..at], .. inserted, .. message[at..]], $"insert({at},{inserted.Length})");
    }

    private static (byte[], string) DuplicateSlice(byte[] message, Random random)
    {
        if (message.Length == 0)
        {
            return (message, "duplicate(empty)");
        }

        var start = random.Next(message.Length);
        var length = random.Next(1, message.Length - start + 1);
        var at = random.Next(message.Length + 1);
        return ([.. message[..at], .. message.AsSpan(start, length), .. message[at..]], $"duplicate({start},{length}@{at})");
    }

    private static (byte[], string) ChangeWireType(byte[] message, Random random)
    {
        var fields = Scan(message);
        if (fields.Count == 0)
        {
            return UnknownField(message, random);
        }

        var field = fields[random.Next(fields.Count)];
        var copy = (byte[])message.Clone();
        var wireType = random.Next(8);
        copy[field.Offset] = (byte)((copy[field.Offset] & ~0x07) | wireType);
        return (copy, $"wiretype(field {field.Number}->{wireType})");
    }

    private static (byte[], string) HugeLength(byte[] message, Random random)
    {
        // A length-delimited field whose varint length is far beyond the bytes that follow (or beyond 2 GiB).
        var number = random.Next(1, 20);
        byte[][] lengths = [[0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0xFF, 0xFF, 0xFF, 0xFF, 0x07], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0xE8, 0x07]];
        var length = lengths[random.Next(lengths.Length)];
        var at = Boundary(message, random);
        return ([.. message[..at], .. Tag(number, 2), .. length, .. message[at..]], $"hugelength(field {number}@{at})");
    }

    private static (byte[], string) UnknownField(byte[] message, Random random)
    {
        var number = random.Next(2) == 0 ? random.Next(16, 2048) : random.Next(2048, 536_870_912);
        var wireType = new[] { 0, 1, 2, 5 }[random.Next(4)];
        byte[] value = wireType switch
        {
            0 => [0x96, 0x01],
            1 => RandomMessages.RandomBytes(random, 8),
            2 => [5, .. RandomMessages.RandomBytes(random, 5)],
            _ => RandomMessages.RandomBytes(random, 4),
        };
        var at = Boundary(message, random);
        return ([.. message[..at], .. Tag(number, wireType), .. value, .. message[at..]], $"unknown(field {number} wire {wireType}@{at})");
    }

    private static (byte[], string) NestedGroups(byte[] message, Random random)
    {
        var depth = random.Next(2) == 0 ? random.Next(1, 120) : random.Next(120, MaxGroupDepth + 1);
        var number = random.Next(20, 100);
        var start = Tag(number, 3);
        var end = Tag(number, 4);
        var closed = random.Next(2) == 0;
        var nested = new List<byte>();
        for (var index = 0; index < depth; index++)
        {
            nested.AddRange(start);
        }

        if (closed)
        {
            for (var index = 0; index < depth; index++)
            {
                nested.AddRange(end);
            }
        }

        var at = Boundary(message, random);
        return ([.. message[..at], .. nested, .. message[at..]], $"groups({depth},{(closed ? "closed" : "open")}@{at})");
    }

    private static (byte[], string) InvalidUtf8(byte[] message, Random random)
    {
        var strings = Scan(message).Where(field => field.WireType == 2 && field.ValueLength > 0).ToList();
        if (strings.Count == 0)
        {
            return FlipBits(message, random);
        }

        var field = strings[random.Next(strings.Count)];
        var copy = (byte[])message.Clone();
        copy[field.ValueOffset + random.Next(field.ValueLength)] = new byte[] { 0xC0, 0xFF, 0xED, 0x80 }[random.Next(4)];
        return (copy, $"utf8(field {field.Number})");
    }

    private static (byte[], string) OverlongVarint(byte[] message, Random random)
    {
        // Eleven continuation bytes: longer than any valid varint.
        var number = random.Next(1, 20);
        var at = Boundary(message, random);
        byte[] varint = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        return ([.. message[..at], .. Tag(number, 0), .. varint, .. message[at..]], $"overlong(field {number}@{at})");
    }

    private static (byte[], string) FieldNumberZero(byte[] message, Random random)
    {
        var at = Boundary(message, random);
        return ([.. message[..at], (byte)random.Next(0, 8), 0x01, .. message[at..]], $"field0(@{at})");
    }

    /// <summary>The start of a top-level field, or the end.</summary>
    private static int Boundary(byte[] message, Random random)
    {
        var fields = Scan(message);
        return random.Next(fields.Count + 1) is var pick && pick < fields.Count ? fields[pick].Offset : message.Length;
    }

    private static byte[] Tag(int number, int wireType) => Varint(((ulong)(uint)number << 3) | (uint)wireType);

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>The top-level fields of a message, as far as it is well formed.</summary>
    private static List<ScannedField> Scan(byte[] message)
    {
        var fields = new List<ScannedField>();
        var position = 0;
        while (position < message.Length && fields.Count < 1000)
        {
            var offset = position;
            if (!TryReadVarint(message, ref position, out var tag))
            {
                break;
            }

            var wireType = (int)(tag & 7);
            var valueOffset = position;
            ulong length;
            switch (wireType)
            {
                case 0:
                    if (!TryReadVarint(message, ref position, out _))
                    {
                        return fields;
                    }

                    break;
                case 1:
                    position += 8;
                    break;
                case 5:
                    position += 4;
                    break;
                case 2:
                    if (!TryReadVarint(message, ref position, out length) || length > (ulong)(message.Length - position))
                    {
                        return fields;
                    }

                    valueOffset = position;
                    position += (int)length;
                    break;
                default:
                    return fields;
            }

            if (position > message.Length)
            {
                break;
            }

            fields.Add(new ScannedField(offset, (int)(tag >> 3), wireType, valueOffset, position - valueOffset));
        }

        return fields;
    }

    private static bool TryReadVarint(byte[] bytes, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < bytes.Length; shift += 7)
        {
            var next = bytes[position++];
            value |= (ulong)(next & 0x7F) << shift;
            if (next < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private sealed record ScannedField(int Offset, int Number, int WireType, int ValueOffset, int ValueLength);
}
