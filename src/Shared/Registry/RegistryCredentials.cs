namespace Pipeline.Registry;

/// <summary>
/// Credentials for one registry (distribution-spec "Authentication", Docker token spec Basic/Bearer).
/// Lives only for the duration of a call; never serialized, cached or logged.
/// </summary>
public sealed class RegistryCredentials(string username, string password)
{
    public string Username { get; } = username;
    public string Password { get; } = password;
    public override string ToString() => $"RegistryCredentials({Username}, ***)";
}
