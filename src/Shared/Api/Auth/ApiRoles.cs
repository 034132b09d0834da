namespace Pipeline.Api.Auth;

/// <summary>Roles a key carries (API.md, Authentication).</summary>
public static class ApiRoles
{
    public const string Import = "import";
    public const string Read = "read";
    public const string Deploy = "deploy";
    public const string Admin = "admin";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Import, Read, Deploy, Admin };
}
