namespace DeviceAgent.Cli;

/// <summary>
/// The device key: the first line of <c>--key-file</c>, trimmed. Read again when the file
/// changes, so a key rotated by provisioning is used without a restart. Never printed.
/// </summary>
internal sealed class KeyFile(string path)
{
    private readonly Lock _gate = new();
    private (DateTime Written, long Length, string Key)? _cached;

    public string Read()
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"the key file {path} does not exist");
        }
        lock (_gate)
        {
            if (_cached is { } c && c.Written == info.LastWriteTimeUtc && c.Length == info.Length)
            {
                return c.Key;
            }
            using var reader = new StreamReader(path);
            string key = reader.ReadLine()?.Trim() ?? "";
            if (key.Length == 0)
            {
                throw new InvalidDataException($"the key file {path} has no key on its first line");
            }
            _cached = (info.LastWriteTimeUtc, info.Length, key);
            return key;
        }
    }
}
