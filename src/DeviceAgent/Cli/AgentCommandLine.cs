using System.CommandLine;

namespace DeviceAgent.Cli;

/// <summary>
/// <c>pipeline-agent run|once --api URL --device ID --key-file F --store DIR [options]</c>.
/// Bad arguments exit 2 with the reason on stderr.
/// </summary>
internal static class AgentCommandLine
{
    public static async Task<int> InvokeAsync(string[] args)
    {
        var root = new RootCommand("The reference device agent: learns its target from the pipeline's device API, downloads what the store lacks with resume, verifies every byte, installs and reports.");
        root.Subcommands.Add(Build("run", "Keep the device at its target: poll the target (and wake on deployment messages) until stopped.", withMessages: true));
        root.Subcommands.Add(Build("once", "Do one round and exit 0 only when every instance runs its target version, verified.", withMessages: false));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync("error: " + error.Message).ConfigureAwait(false);
            }
            await Console.Error.WriteLineAsync("Try 'pipeline-agent --help'.").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }
        // The agent handles SIGTERM and SIGINT itself (System.CommandLine's handler would end the
        // process with 143 before a round can stop cleanly).
        using var shutdown = new ShutdownSignal();
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, shutdown.Token).ConfigureAwait(false);
    }

    private static Command Build(string name, string description, bool withMessages)
    {
        var o = new AgentOptions(withMessages);
        var command = new Command(name, description);
        foreach (var option in o.All)
        {
            command.Options.Add(option);
        }
        command.SetAction(async (parse, cancellationToken) =>
        {
            var log = Progress.AgentLog.ForConsole();
            var settings = o.Read(parse);
            if (settings is null || Check(settings) is not null)
            {
                log.Error(settings is null ? o.Problem ?? "bad arguments" : Check(settings)!);
                return ExitCodes.BadArguments;
            }
            var key = new KeyFile(settings.KeyFile);
            try
            {
                key.Read();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                log.Error($"cannot read --key-file: {e.Message}");
                return ExitCodes.BadArguments;
            }
            AgentHost host;
            try
            {
                host = new AgentHost(settings, key, log);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.Error($"cannot open the store: {e.Message}");
                return ExitCodes.NotSatisfied;
            }
            using (host)
            {
                try
                {
                    return withMessages ? await host.RunAsync(cancellationToken).ConfigureAwait(false) : await host.OnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    log.Error("stopped before the round finished");
                    return ExitCodes.NotSatisfied;
                }
            }
        });
        return command;
    }

    private static string? Check(AgentSettings settings)
    {
        if (settings.Api.Scheme is not ("http" or "https"))
        {
            return $"--api must be an http(s) URL such as http://127.0.0.1:7071, not '{settings.Api}'";
        }
        if (settings.DeviceId.Length == 0)
        {
            return "--device must not be empty";
        }
        if (settings.Subscription is null && (settings.ServiceBusNamespace ?? settings.ServiceBusConnectionString) is not null)
        {
            return "--subscription is needed with --servicebus-namespace or --servicebus-connection-string";
        }
        return null;
    }
}
