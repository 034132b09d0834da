namespace DeviceAgent.Cli;

/// <summary>What <c>pipeline-agent</c> exits with.</summary>
internal static class ExitCodes
{
    /// <summary><c>once</c>: every enabled instance runs its target version, verified and healthy. <c>run</c>: stopped by a signal.</summary>
    public const int Ok = 0;

    /// <summary>Not there yet, or the agent could not start (the reason is on stderr).</summary>
    public const int NotSatisfied = 1;

    /// <summary>Bad arguments: an unknown option, a missing one, an unreadable key file.</summary>
    public const int BadArguments = 2;
}
