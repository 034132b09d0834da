using Spectre.Console;

namespace DeviceAgent.Progress;

/// <summary>Progress bars on a terminal: one task per blob and a total, in a Spectre.Console progress display.</summary>
internal sealed class SpectreProgress(ProgressContext context, ProgressTask total) : IDownloadProgress
{
    public IBlobProgress Start(string digest, long size)
    {
        string name = digest.Length > 19 ? digest[..19] + "…" : digest;
        return new Blob(context.AddTask(Markup.Escape(name), maxValue: Math.Max(1, size)), total);
    }

    private sealed class Blob(ProgressTask task, ProgressTask total) : IBlobProgress
    {
        public void Advanced(long bytesDone)
        {
            total.Increment(bytesDone - task.Value);
            task.Value = bytesDone;
        }

        public void Completed(long size)
        {
            Advanced(size);
            task.StopTask();
        }
    }
}
