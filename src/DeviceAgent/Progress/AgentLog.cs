using Spectre.Console;

namespace DeviceAgent.Progress;

/// <summary>
/// What the agent tells the person or the log collector: plain lines on stdout, warnings and
/// errors on stderr. On a terminal, lines go through Spectre.Console so they print above a live
/// progress display instead of through it. Never given the device key.
/// </summary>
internal sealed class AgentLog(bool interactive, TextWriter output, TextWriter error)
{
    public bool Interactive => interactive;

    /// <summary>Bars when stdout is a terminal, plain lines when it is a file, a pipe or journald.</summary>
    public static AgentLog ForConsole() =>
        new(!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive, Console.Out, Console.Error);

    public void Info(string message)
    {
        if (interactive)
        {
            AnsiConsole.Console.WriteLine(message);
        }
        else
        {
            output.WriteLine(message);
        }
    }

    public void Warn(string message) => error.WriteLine("warning: " + message);

    public void Error(string message) => error.WriteLine("error: " + message);
}
