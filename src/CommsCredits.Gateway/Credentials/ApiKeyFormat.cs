namespace CommsCredits.Gateway.Credentials;

using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;

/// <summary>
/// The form of an API key, "cck_&lt;key id&gt;_&lt;secret&gt;": the key id is 12 random RFC 4648 base32 characters (lower
/// case), the secret 32 random bytes in unpadded base64url (43 characters). The id finds the stored key; the secret
/// proves the caller holds it.
/// </summary>
/// <remarks>
/// Only SHA-256 of the secret is stored. A fast hash is the right one here: the secret is 256 bits from a
/// cryptographic generator, so nobody can search for it whatever a hash costs. Slow password hashes (bcrypt, Argon2)
/// exist to protect low-entropy human passwords, and on the charging path they would cost milliseconds per call.
/// </remarks>
public static class ApiKeyFormat
{
    public const string Prefix = "cck_";
    public const int KeyIdLength = 12;
    public const int SecretBytes = 32;
    public const int SecretLength = 43;
    public const int KeyLength = 4 + KeyIdLength + 1 + SecretLength;
    public const int HashBytes = 32;

    private const string Base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static readonly SearchValues<char> Base32Characters = SearchValues.Create(Base32Alphabet);
    private static readonly SearchValues<char> Base64UrlCharacters = SearchValues.Create(Base64UrlAlphabet);

    /// <summary>A new key: its id, the key text to hand to its holder (once), and the hash to store.</summary>
    public static (string KeyId, string Key, byte[] SecretSha256) Generate()
    {
        Span<byte> idBytes = stackalloc byte[KeyIdLength];
        RandomNumberGenerator.Fill(idBytes);
        Span<char> id = stackalloc char[KeyIdLength];
        for (var index = 0; index < KeyIdLength; index++)
        {
            id[index] = Base32Alphabet[idBytes[index] & 31];
        }

        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var keyId = new string(id);
        var key = Prefix + keyId + "_" + Base64Url.EncodeToString(secret);
        var hash = SHA256.HashData(secret);
        CryptographicOperations.ZeroMemory(secret);
        return (keyId, key, hash);
    }

    /// <summary>True when <paramref name="keyId"/> has the form of a key id (so it can go to PostgreSQL).</summary>
    public static bool IsKeyId(ReadOnlySpan<char> keyId) =>
        keyId.Length == KeyIdLength && !keyId.ContainsAnyExcept(Base32Characters);

    /// <summary>
    /// Splits a key into its id and the SHA-256 of its secret, without allocating. False when the text does not have
    /// the form of a key (then nothing about it is worth looking up).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> key, out ReadOnlySpan<char> keyId, Span<byte> secretSha256)
    {
        keyId = default;
        if (key.Length != KeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal) || key[Prefix.Length + KeyIdLength] != '_')
        {
            return false;
        }

        var id = key.Slice(Prefix.Length, KeyIdLength);
        var secretText = key[(Prefix.Length + KeyIdLength + 1)..];
        // 43 base64url characters carry 258 bits; the last two must be zero, or two texts would be the same key.
        if (!IsKeyId(id) || secretText.ContainsAnyExcept(Base64UrlCharacters) || (Base64UrlAlphabet.IndexOf(secretText[^1], StringComparison.Ordinal) & 3) != 0)
        {
            return false;
        }

        Span<byte> secret = stackalloc byte[SecretBytes];
        if (!Base64Url.TryDecodeFromChars(secretText, secret, out var written) || written != SecretBytes)
        {
            return false;
        }

        SHA256.HashData(secret, secretSha256);
        CryptographicOperations.ZeroMemory(secret);
        keyId = id;
        return true;
    }
}
