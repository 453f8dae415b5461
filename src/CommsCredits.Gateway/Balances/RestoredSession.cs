namespace CommsCredits.Gateway.Balances;

using System.Globalization;
using CommsCredits.Gateway.Ledger;
using Npgsql;

/// <summary>
/// A session in progress as the session journal knows it, folded from its committed steps: the opening's fixed
/// fields, the usage and debits of every committed Update, the hold, grant and deadline after the latest step, and every
/// answer given. Steps commit in any order and a rebuild may see any subset of those applied in the lost Redis, so
/// nothing is taken from one step that another would change: usage and debits are sums (each step's own), the pool
/// allotment only grows, and what a step left behind (hold, grant, deadline) is the latest step's.
/// </summary>
public sealed class RestoredSession
{
    /// <summary>Session hash fields the opening may carry (reserve.lua's fixed fields); any other is a bug.</summary>
    private static readonly HashSet<string> OpeningFieldNames = new(StringComparer.Ordinal)
    {
        "sid", "ct", "user", "from", "to", "r", "f", "fi", "ni", "dst", "pfx", "eff", "t0", "pl", "ps", "ca",
    };

    private readonly List<(string Request, string Answer)> answers = [];
    private string[]? opening;
    private (long Epoch, long Operation) latest = (-1, -1);

    private RestoredSession(long sessionEpoch, long sessionNumber, string sessionId)
    {
        SessionEpoch = sessionEpoch;
        SessionNumber = sessionNumber;
        SessionId = sessionId;
    }

    public long SessionEpoch { get; }

    public long SessionNumber { get; }

    public string SessionId { get; }

    public long UsedSeconds { get; private set; }

    public long DebitedMicros { get; private set; }

    public long PoolSecondsUsed { get; private set; }

    public long AllottedSeconds { get; private set; }

    /// <summary>The hold after the latest step; the rebuild may lower it to what the balance still has (<see cref="CapHold"/>).</summary>
    public long HoldMicros { get; private set; }

    public long GrantedSeconds { get; private set; }

    public DateTimeOffset DeadlineAt { get; private set; }

    /// <summary>The pool the session draws on, or empty.</summary>
    public string PoolId => FixedField("pl");

    /// <summary>Whether the opening was found: an Update whose opening never reached the ledger cannot be restored.</summary>
    public bool HasOpening => opening is not null;

    /// <summary>Pool seconds the session holds and has not used yet.</summary>
    public long PoolSecondsHeld => Math.Max(0, AllottedSeconds - PoolSecondsUsed);

    public void CapHold(long availableMicros) => HoldMicros = Math.Clamp(HoldMicros, 0, Math.Max(0, availableMicros));

    /// <summary>The session hash under <paramref name="epoch"/>, as name/value pairs for HSET.</summary>
    public IReadOnlyList<string> HashFields(long epoch)
    {
        var fields = new List<string>(opening!.Length + 32 + 4 * answers.Count);
        fields.AddRange(opening);
        Add(fields, "ep", epoch);
        Add(fields, "sep", SessionEpoch);
        Add(fields, "num", SessionNumber);
        fields.AddRange(["state", "open"]);
        Add(fields, "u", UsedSeconds);
        Add(fields, "d", DebitedMicros);
        Add(fields, "h", HoldMicros);
        Add(fields, "g", GrantedSeconds);
        Add(fields, "dl", DeadlineAt.ToUnixTimeMilliseconds());
        Add(fields, "pa", AllottedSeconds);
        Add(fields, "pc", PoolSecondsUsed);
        Add(fields, "requests", answers.Count);
        foreach (var (request, answer) in answers)
        {
            // Every answer's settlement is in the ledger: nothing of it is pending.
            fields.AddRange(["a:" + request, answer, "o:" + request, "0"]);
        }

        return fields;
    }

    /// <summary>
    /// Reads the tenant's sessions in progress: those with steps and no call record. Sessions whose opening is missing
    /// are returned too (HasOpening false), for the caller to report.
    /// </summary>
    public static async Task<IReadOnlyList<RestoredSession>> ReadAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, int maxSessions, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT s.session_epoch, s.session_number, s.session_id, s.step, s.request, s.used_seconds, s.charged_micros,
                   s.pool_seconds, s.allotted_seconds, s.hold_micros, s.granted_seconds, s.deadline_at, s.answer, s.opening,
                   s.epoch, s.operation_number
            FROM session_steps s
            WHERE s.tenant_id = @tenant
              AND NOT EXISTS (SELECT 1 FROM call_records c
                              WHERE c.tenant_id = s.tenant_id AND c.epoch = s.session_epoch AND c.session_number = s.session_number)
            ORDER BY s.session_epoch, s.session_number, s.epoch, s.operation_number
            """,
            connection,
            transaction);
        command.Parameters.AddWithValue("tenant", tenantId);
        var sessions = new List<RestoredSession>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        RestoredSession? current = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var (sessionEpoch, sessionNumber) = (reader.GetInt64(0), reader.GetInt64(1));
            if (current is null || current.SessionEpoch != sessionEpoch || current.SessionNumber != sessionNumber)
            {
                if (sessions.Count == maxSessions)
                {
                    throw new InvalidOperationException(
                        $"tenant {tenantId} has more than {maxSessions} sessions in progress in the session journal (Charging:MaxOpenSessionsPerTenant)");
                }

                current = new RestoredSession(sessionEpoch, sessionNumber, reader.GetString(2));
                sessions.Add(current);
            }

            current.Apply(
                (SessionStepKind)reader.GetInt16(3),
                reader.GetString(4),
                new StepValues(reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetFieldValue<DateTimeOffset>(11)),
                reader.GetString(12),
                reader.IsDBNull(13) ? null : reader.GetString(13),
                (reader.GetInt64(14), reader.GetInt64(15)));
        }

        return sessions;
    }

    private void Apply(SessionStepKind kind, string request, StepValues values, string answer, string? openingFields, (long Epoch, long Operation) operation)
    {
        if (kind == SessionStepKind.Opening)
        {
            opening = DecodeOpening(openingFields ?? throw new FormatException($"the opening of session {SessionId} has no fields"));
        }

        UsedSeconds = checked(UsedSeconds + values.UsedSeconds);
        DebitedMicros = checked(DebitedMicros + values.ChargedMicros);
        PoolSecondsUsed = checked(PoolSecondsUsed + values.PoolSeconds);
        AllottedSeconds = Math.Max(AllottedSeconds, values.AllottedSeconds);
        if (operation.CompareTo(latest) > 0)
        {
            latest = operation;
            HoldMicros = values.HoldMicros;
            GrantedSeconds = values.GrantedSeconds;
            DeadlineAt = values.DeadlineAt;
        }

        answers.Add((request, answer));
    }

    private string[] DecodeOpening(string encoded)
    {
        var fields = Netstrings.Decode(encoded);
        if (fields.Length % 2 != 0)
        {
            throw new FormatException($"the opening of session {SessionId} has an odd number of fields");
        }

        for (var index = 0; index < fields.Length; index += 2)
        {
            if (!OpeningFieldNames.Contains(fields[index]))
            {
                throw new FormatException($"the opening of session {SessionId} has an unknown field '{fields[index]}'");
            }
        }

        return fields;
    }

    private string FixedField(string name)
    {
        for (var index = 0; opening is not null && index < opening.Length; index += 2)
        {
            if (string.Equals(opening[index], name, StringComparison.Ordinal))
            {
                return opening[index + 1];
            }
        }

        return string.Empty;
    }

    private static void Add(List<string> fields, string name, long value)
    {
        fields.Add(name);
        fields.Add(value.ToString(CultureInfo.InvariantCulture));
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
    private readonly record struct StepValues(
        long UsedSeconds, long ChargedMicros, long PoolSeconds, long AllottedSeconds, long HoldMicros, long GrantedSeconds, DateTimeOffset DeadlineAt);
}
