namespace DeviceAgent;

/// <summary>
/// <c>pipeline-agent</c>: the reference device agent. It speaks only the public HTTP contract
/// and the deployment messages (API.md "Devices", "Deployment messages"); see Cli/AgentCommandLine.
/// </summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => Cli.AgentCommandLine.InvokeAsync(args);
}
