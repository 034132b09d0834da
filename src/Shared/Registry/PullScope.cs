namespace Pipeline.Registry;

/// <summary>Who is pulling: token caches are keyed by this, never shared across tenants.</summary>
public sealed record PullScope(string TenantId, RegistryCredentials? Credentials);
