using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline;

/// <summary>Identifier rules and derivations shared by the API and the catalog.</summary>
public static partial class Ids
{
    /// <summary>
    /// Customer ids become table partition keys, so they are restricted to characters every key
    /// accepts: letters, digits, '-', '_' and '.', 1–64 long.
    /// </summary>
    public static string ValidateCustomerId(string? customerId, string field = "customer_id") =>
        customerId is not null && CustomerIdPattern().IsMatch(customerId)
            ? customerId
            : throw new PipelineException(ErrorCodes.BadInput, $"{field} must be 1-64 letters, digits, '-', '_' or '.'.");

    /// <summary>
    /// A node service is identified by (customer_id, name): its id is derived from both, so an
    /// activity run twice finds the same service and a second import of the name adds a version.
    /// </summary>
    public static string NodeServiceId(string customerId, string name) =>
        "ns_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(customerId + "\n" + name)))[..24];

    public static string NewImportId() => "imp_" + Guid.NewGuid().ToString("N");

    /// <summary>Whether a caller-given id is safe as a table key (no '/', '\\', '#', '?', control characters).</summary>
    public static bool IsSafeKey(string? id) => id is not null && SafeKeyPattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex CustomerIdPattern();

    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,128}$")]
    private static partial Regex SafeKeyPattern();
}
