using System.Diagnostics;

namespace Pipeline.Tests.Fixtures;

/// <summary>How the fixtures start programs: directly (no shell), all three streams redirected.</summary>
internal static class ProcessStart
{
    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    public static ProcessStartInfo Info(string fileName, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string?>? environment)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                psi.Environment.Remove(key);
            }
            else
            {
                psi.Environment[key] = value;
            }
        }
        return psi;
    }
}
