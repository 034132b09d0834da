using System.CommandLine;

namespace DeviceAgent.Cli;

/// <summary>The options of <c>run</c> and <c>once</c> (one set per command), and how they become <see cref="AgentSettings"/>.</summary>
internal sealed class AgentOptions
{
    private readonly Option<string> _api = new("--api") { Description = "Base URL the /api/... routes hang off, e.g. http://127.0.0.1:7071", Required = true };
    private readonly Option<string> _device = new("--device") { Description = "This device's id (as registered with DM_register_device)", Required = true };
    private readonly Option<string> _keyFile = new("--key-file") { Description = "File whose first line is the device key", Required = true };
    private readonly Option<string> _store = new("--store") { Description = "Folder of the content store and installed versions", Required = true };
    private readonly Option<string?> _healthCommand = new("--health-cmd") { Description = "Shell command run (sh -c) after a version is current; exit 0 = healthy. Env: AGENT_INSTANCE_ID, AGENT_VERSION, AGENT_VERSION_DIR" };
    private readonly Option<int> _healthTimeout = new("--health-timeout-seconds") { Description = "Longest a health check may run", DefaultValueFactory = _ => 30 };
    private readonly Option<long> _minFree = new("--min-free-bytes") { Description = "Free space to leave on the store's filesystem after a version's downloads", DefaultValueFactory = _ => 0 };
    private readonly Option<string?> _report = new("--report-json") { Description = "Write each round's outcome (instances, downloads per blob, repairs) to this JSON file" };
    private readonly Option<int> _attempts = new("--download-attempts") { Description = "Tries in a row without headway before a download gives up until the next round", DefaultValueFactory = _ => 6 };
    private readonly Option<int> _stall = new("--stall-seconds") { Description = "A download that receives no byte for this long counts as dropped", DefaultValueFactory = _ => 30 };
    private readonly Option<bool> _noChunks = new("--no-chunks") { Description = "Download every layer whole: no chunk deltas in plans, no seeds kept (for comparisons)" };
    private readonly Option<int> _poll = new("--poll-seconds") { Description = "How often run polls the target (give or take 20 %)", DefaultValueFactory = _ => 60 };
    private readonly Option<string?> _queue = new("--queue-connection-string") { Description = "Wake on messages of the Azure Storage queue 'deployments' (local setups)" };
    private readonly Option<string?> _serviceBusNamespace = new("--servicebus-namespace") { Description = "Wake on messages of Service Bus topic 'deployments' (Entra ID sign-in), e.g. ns.servicebus.windows.net" };
    private readonly Option<string?> _serviceBusConnection = new("--servicebus-connection-string") { Description = "Likewise, with a connection string" };
    private readonly Option<string?> _subscription = new("--subscription") { Description = "The subscription on topic 'deployments' (sessions required; the session id is the device id)" };
    private readonly bool _withMessages;

    public AgentOptions(bool withMessages) => _withMessages = withMessages;

    /// <summary>Why <see cref="Read"/> returned null.</summary>
    public string? Problem { get; private set; }

    public IEnumerable<Option> All => _withMessages
        ? [.. Common, _poll, _queue, _serviceBusNamespace, _serviceBusConnection, _subscription]
        : Common;

    private Option[] Common => [_api, _device, _keyFile, _store, _healthCommand, _healthTimeout, _minFree, _report, _attempts, _stall, _noChunks];

    public AgentSettings? Read(ParseResult parse)
    {
        string api = parse.GetRequiredValue(_api);
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUri))
        {
            Problem = $"--api must be an http(s) URL such as http://127.0.0.1:7071, not '{api}'";
            return null;
        }
        int healthTimeout = parse.GetValue(_healthTimeout), attempts = parse.GetValue(_attempts), stall = parse.GetValue(_stall), poll = parse.GetValue(_poll);
        long minFree = parse.GetValue(_minFree);
        if (healthTimeout < 1 || attempts < 1 || stall < 1 || (_withMessages && poll < 1) || minFree < 0)
        {
            Problem = "--health-timeout-seconds, --download-attempts, --stall-seconds and --poll-seconds must be at least 1, --min-free-bytes at least 0";
            return null;
        }
        var settings = new AgentSettings(
            apiUri,
            parse.GetRequiredValue(_device).Trim(),
            parse.GetRequiredValue(_keyFile),
            parse.GetRequiredValue(_store),
            parse.GetValue(_healthCommand),
            TimeSpan.FromSeconds(healthTimeout),
            minFree,
            parse.GetValue(_report),
            attempts,
            TimeSpan.FromSeconds(stall))
        {
            UseChunks = !parse.GetValue(_noChunks),
        };
        return _withMessages
            ? settings with
            {
                PollInterval = TimeSpan.FromSeconds(poll),
                QueueConnectionString = parse.GetValue(_queue),
                ServiceBusNamespace = parse.GetValue(_serviceBusNamespace),
                ServiceBusConnectionString = parse.GetValue(_serviceBusConnection),
                Subscription = parse.GetValue(_subscription),
            }
            : settings;
    }
}
