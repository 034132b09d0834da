namespace Pipeline.Tests.DeviceAgent;

/// <summary>
/// Tests of the agent process against a fake device API of their own: each test starts both and
/// stops them after.
/// </summary>
public abstract class FakeApiAgentTests : IAsyncLifetime
{
    protected FakeDeviceApi Api { get; private set; } = null!;

    protected AgentProcess Agent { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Api = await FakeDeviceApi.StartAsync();
        Agent = AgentProcess.For(Api.BaseUri, FakeDeviceApi.DeviceId, FakeDeviceApi.DeviceKey);
    }

    public async Task DisposeAsync()
    {
        Agent.Dispose();
        await Api.DisposeAsync();
    }
}
