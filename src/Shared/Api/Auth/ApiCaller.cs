namespace Pipeline.Api.Auth;

/// <summary>Who is calling the API: the customer a key belongs to and its roles.</summary>
public sealed record ApiCaller(string? CustomerId, IReadOnlySet<string> Roles)
{
    public bool IsAdmin => Roles.Contains(ApiRoles.Admin);

    /// <summary>
    /// Refuses (FORBIDDEN) a call for another customer than the key's, or one needing a role the
    /// key lacks. An admin key may act for any customer.
    /// </summary>
    public void Require(string customerId, params string[] anyOfRoles)
    {
        if (IsAdmin)
        {
            return;
        }
        if (!string.Equals(CustomerId, customerId, StringComparison.Ordinal))
        {
            throw new PipelineException(ErrorCodes.Forbidden, "This key does not belong to that customer.");
        }
        if (anyOfRoles.Length > 0 && !anyOfRoles.Any(Roles.Contains))
        {
            throw new PipelineException(ErrorCodes.Forbidden, $"This key lacks the role needed: {string.Join(" or ", anyOfRoles)}.");
        }
    }

    public void RequireAdmin()
    {
        if (!IsAdmin)
        {
            throw new PipelineException(ErrorCodes.Forbidden, "Only an admin key may do this.");
        }
    }
}
