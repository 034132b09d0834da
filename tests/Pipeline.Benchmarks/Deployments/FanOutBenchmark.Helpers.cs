using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Pipeline.Deployments;
using Pipeline.Fleet.Instances;
using Pipeline.Imports;
using Spectre.Console;

namespace Pipeline.Benchmarks.Deployments;

// What the fan-out benchmark reads to follow a fan-out (the queue, the records, the task hub's
// tables, LocalHost's log, the processes' CPU and memory) and how it lays out a fan-out by page.
public sealed partial class FanOutBenchmark
{
    /// <summary>Sends in flight at once, as <c>QueueDeploymentPublisher</c> sends.</summary>
    private const int QueueSendParallelism = 32;

    /// <summary>
    /// Between polls of the queue's count. On Azurite a count (like every receive, the task hub's
    /// own polls included) scans every message held, a few ms of its one event loop once the fleet's
    /// messages are in: polled faster, the benchmark would slow what it measures.
    /// </summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan FanOutLimit = TimeSpan.FromMinutes(2);

    /// <summary>What one fleet's fan-out took and left behind.</summary>
    private sealed record FleetRun(
        int Instances,
        int Devices,
        DateTimeOffset ImportCompleted,
        DateTimeOffset LastRecord,
        int RecordedV2,
        IReadOnlyList<(DateTimeOffset At, int Count)> Samples,
        double Wall,
        double HostCpu,
        double AzuriteCpu,
        double AzuriteLoopCpu,
        long HostPeakBytes,
        QueueCheck Queue,
        History History,
        IReadOnlyList<DateTimeOffset> PageStarts,
        IReadOnlyList<DateTimeOffset> PageEnds,
        (double List, double Records, double Devices, int DeviceCount) Reads)
    {
        public DateTimeOffset FirstMessage => Samples.First(s => s.Count > 0).At;

        public double FromImport => (LastRecord - ImportCompleted).TotalSeconds;

        public double FromFirstMessage => (LastRecord - FirstMessage).TotalSeconds;
    }

    private sealed record QueueCheck(int Total, int Distinct, int Duplicates, int Unexpected, int Missing, IReadOnlyList<string> Bodies);

    private sealed record PeerRun(int Messages, double Seconds, double AzuriteCpu, double AzuriteLoopCpu);

    /// <summary>
    /// A fan-out orchestration's history in <c>{TaskHub}History</c> (partition = its instance id,
    /// an ExecutionId per generation). A new generation's history replaces the last one there, so
    /// the table is sampled while the fan-out runs; the orchestration's output counts its pages.
    /// </summary>
    private sealed class History(string instanceId)
    {
        public string InstanceId => instanceId;

        /// <summary>The most events seen at once for each ExecutionId.</summary>
        public Dictionary<string, int> Executions { get; } = new(StringComparer.Ordinal);

        public int MaxEvents => Executions.Count == 0 ? 0 : Executions.Values.Max();

        public int RowsAtEnd { get; set; }

        public int ExecutionsAtEnd { get; set; }

        /// <summary>Pages the fan-out reports in its output: one per generation.</summary>
        public int? Pages { get; private set; }

        /// <summary>Waits (at most 30 s) for the orchestration's last generation to complete, then reads its page count.</summary>
        public async Task ReadPagesAsync(TableServiceClient tables, string taskHub)
        {
            var limit = Stopwatch.StartNew();
            while (limit.Elapsed < TimeSpan.FromSeconds(30))
            {
                var row = await tables.GetTableClient(taskHub + "Instances").GetEntityIfExistsAsync<TableEntity>(instanceId, "");
                if (row.HasValue && row.Value!.GetString("RuntimeStatus") == "Completed" && row.Value.GetString("Output") is { Length: > 0 } output)
                {
                    using var totals = JsonDocument.Parse(output);
                    Pages = totals.RootElement.EnumerateObject().Where(p => p.Name.Equals("pages", StringComparison.OrdinalIgnoreCase)).Select(p => p.Value.GetInt32()).FirstOrDefault();
                    return;
                }
                await Task.Delay(PollInterval);
            }
        }
    }

    /// <summary>
    /// The largest fleet's fan-out page by page: the orchestration's hop from the last page's end
    /// to this page's activity starting, then the activity's reads until its first message is on
    /// the queue, then its sending and recording until it ends. Starts and ends are LocalHost's
    /// log lines; the first message is the queue's count, polled.
    /// </summary>
    private static Table PageTable(FleetRun run)
    {
        var table = new Table().Title($"the {run.Instances:N0}-instance fan-out by page, s (queue count polled every {PollInterval.TotalMilliseconds:F0} ms)");
        table.AddColumn("page");
        foreach (string column in new[] { "started at", "hop before", "reads to 1st msg", "sending + records", "activity", "msgs/s in activity" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        int pages = Math.Min(run.PageStarts.Count, run.PageEnds.Count);
        var previous = run.ImportCompleted;
        var sums = new double[3];
        for (int p = 0; p < pages; p++)
        {
            int from = p * FanOutPageActivity.PageSize, to = Math.Min(run.Instances, from + FanOutPageActivity.PageSize);
            var (start, end) = (run.PageStarts[p], run.PageEnds[p]);
            var first = run.Samples.FirstOrDefault(s => s.Count > from).At;
            double[] parts = [(start - previous).TotalSeconds, (first - start).TotalSeconds, (end - first).TotalSeconds];
            for (int i = 0; i < parts.Length; i++)
            {
                sums[i] += parts[i];
            }
            table.AddRow($"{p + 1}", $"{(start - run.ImportCompleted).TotalSeconds:F2}", $"{parts[0]:F2}", $"{parts[1]:F2}", $"{parts[2]:F2}",
                $"{(end - start).TotalSeconds:F2}", $"{(to - from) / (end - start).TotalSeconds:F0}");
            previous = end;
        }
        table.AddRow("all", "", $"{sums[0]:F2}", $"{sums[1]:F2}", $"{sums[2]:F2}", $"{sums[1] + sums[2]:F2}", "");
        return table;
    }

    /// <summary>
    /// Polls the queue's message count (one request; on Azurite it counts invisible messages too) until the whole fleet's messages are on it, and the fan-out's history every other poll.
    /// </summary>
    private async Task<List<(DateTimeOffset At, int Count)>> FollowQueueAsync(int expected, History history)
    {
        var limit = Stopwatch.StartNew();
        var samples = new List<(DateTimeOffset, int)>();
        for (int poll = 0; ; poll++)
        {
            int count = (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            samples.Add((DateTimeOffset.UtcNow, count));
            if (count >= expected)
            {
                return samples;
            }
            if (limit.Elapsed > FanOutLimit)
            {
                throw new TimeoutException($"{count} of {expected} messages on the queue after {FanOutLimit.TotalSeconds:F0} s; LocalHost's log:\n{_host.ReadLog()}");
            }
            if (poll % 2 == 0)
            {
                await SampleHistoryAsync(history);
            }
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Counts the events of each generation now in the History table (the sentinel row, which has no EventType, left out).</summary>
    private async Task SampleHistoryAsync(History history)
    {
        var rows = new List<TableEntity>();
        await foreach (var e in _tables.GetTableClient(_host.TaskHub + "History").QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {history.InstanceId}")))
        {
            rows.Add(e);
        }
        foreach (var generation in rows.Where(r => r.GetString("ExecutionId") is not null).GroupBy(r => r.GetString("ExecutionId")!))
        {
            int events = generation.Count(r => !string.IsNullOrEmpty(r.GetString("EventType")));
            history.Executions[generation.Key] = Math.Max(events, history.Executions.GetValueOrDefault(generation.Key));
        }
        history.RowsAtEnd = rows.Count;
        history.ExecutionsAtEnd = rows.Select(r => r.GetString("ExecutionId")).Distinct().Count();
    }

    /// <summary>
    /// Waits until every seeded instance's record names version 2, and returns when the last of
    /// them was written (the rows' Timestamps, set by Azurite on this machine's clock),
    /// so the end is when the fan-out wrote it, not when this poll saw it.
    /// </summary>
    private async Task<(DateTimeOffset Last, int Recorded)> WaitForRecordsAsync(string nodeServiceId, IReadOnlyList<NodeServiceInstance> seeded)
    {
        var table = _tables.GetTableClient(DeploymentRecordStore.Table);
        var ids = seeded.Select(s => s.InstanceId).ToHashSet(StringComparer.Ordinal);
        var limit = Stopwatch.StartNew();
        while (true)
        {
            var rows = new List<(DateTimeOffset Written, int Version)>();
            await foreach (var e in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {nodeServiceId}")))
            {
                if (ids.Contains(e.RowKey))
                {
                    rows.Add((e.Timestamp!.Value, e.GetInt32("version") ?? 0));
                }
            }
            int recorded = rows.Count(r => r.Version == 2);
            if (recorded == ids.Count || limit.Elapsed > TimeSpan.FromSeconds(30))
            {
                return (rows.Max(r => r.Written), recorded);
            }
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>When the import's row was marked completed (its Timestamp; nothing writes it after that).</summary>
    private async Task<DateTimeOffset> ImportCompletedAtAsync(string importId)
    {
        var row = await _tables.GetTableClient(ImportStore.Table).GetEntityAsync<TableEntity>(importId, "import");
        return row.Value.Timestamp!.Value;
    }

    /// <summary>
    /// Receives every message on the queue (left invisible, not deleted: a consumer that handled
    /// them would delete them, which this check does not need) and compares their message_ids with
    /// the expected ones.
    /// </summary>
    private async Task<QueueCheck> ReadQueueAsync(IEnumerable<string> expectedIds)
    {
        int total = (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
        var bodies = new List<string>();
        while (true)
        {
            var batch = (await _queue.ReceiveMessagesAsync(maxMessages: 32, visibilityTimeout: TimeSpan.FromMinutes(30))).Value;
            if (batch.Length == 0)
            {
                break;
            }
            bodies.AddRange(batch.Select(m => m.Body.ToString()));
        }
        var ids = bodies.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("message_id").GetString()!).ToList();
        var distinct = ids.ToHashSet(StringComparer.Ordinal);
        var expected = expectedIds.ToHashSet(StringComparer.Ordinal);
        return new QueueCheck(total, distinct.Count, ids.Count - distinct.Count, distinct.Count(i => !expected.Contains(i)), expected.Count(i => !distinct.Contains(i)), bodies);
    }

    /// <summary>
    /// The same message bodies sent from this process to a queue of their own on the same Azurite,
    /// as the publisher sends them (one request each, kept until taken, 32 in flight): what the
    /// fan-out's publishing alone would cost, with no reads, records or orchestration around it.
    /// </summary>
    private async Task<PeerRun> PeerSendsAsync(IReadOnlyList<string> bodies)
    {
        var queue = new QueueClient(_azurite.ConnectionString, "peer-sends");
        await queue.CreateIfNotExistsAsync();
        // A few sends first, so the connections are open and the code compiled, as the fan-out's are by its second page.
        foreach (string body in bodies.Take(QueueSendParallelism))
        {
            await queue.SendMessageAsync(body, null, TimeSpan.FromSeconds(-1));
        }
        var (cpu, loop) = (CpuSeconds(_azurite.Pid), MainThreadCpuSeconds(_azurite.Pid));
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(bodies, new ParallelOptions { MaxDegreeOfParallelism = QueueSendParallelism }, async (body, ct) =>
            await queue.SendMessageAsync(body, null, TimeSpan.FromSeconds(-1), ct));
        var run = new PeerRun(bodies.Count, sw.Elapsed.TotalSeconds, CpuSeconds(_azurite.Pid) - cpu, MainThreadCpuSeconds(_azurite.Pid) - loop);
        await queue.DeleteAsync();
        return run;
    }

    /// <summary>
    /// When each page's activity started (the durable backend's "Processing [TaskScheduled…]" line
    /// for the orchestration) and ended (the page's own line), from LocalHost's log; its console
    /// timestamps are this machine's local time of day, to the millisecond.
    /// </summary>
    private (List<DateTimeOffset> Starts, List<DateTimeOffset> Ends) PageTimes(string orchestrationId, string nodeServiceId)
    {
        var (starts, ends) = (new List<DateTimeOffset>(), new List<DateTimeOffset>());
        string started = $"{orchestrationId}: Processing [TaskScheduled#", ended = $"Fan-out of {nodeServiceId}: ";
        foreach (string line in ReadShared(_hostLog))
        {
            var list = line.Contains(started, StringComparison.Ordinal) ? starts : line.Contains(ended, StringComparison.Ordinal) ? ends : null;
            if (list is not null && TimeSpan.TryParseExact(line.Split(' ')[0], @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture, out var time))
            {
                list.Add(new DateTimeOffset(DateTime.Today + time));
            }
        }
        return (starts, ends);
    }

    /// <summary>
    /// The reads a page makes before it sends (its 1,000 instances, their records, their devices
    /// 32 at a time), made from this process on the fleet's first page after its fan-out.
    /// </summary>
    private async Task<(double List, double Records, double Devices, int DeviceCount)> TimePageReadsAsync(string nodeServiceId)
    {
        var sw = Stopwatch.StartNew();
        var (page, _) = await _seed.Instances.ListPageAsync(nodeServiceId, null, FanOutPageActivity.PageSize, CancellationToken.None);
        double list = sw.Elapsed.TotalSeconds;
        var ids = page.Select(i => i.InstanceId).Order(StringComparer.Ordinal).ToList();
        sw.Restart();
        await new DeploymentRecordStore(_seed.Storage).GetRangeAsync(nodeServiceId, ids[0], ids[^1], CancellationToken.None);
        double records = sw.Elapsed.TotalSeconds;
        var devices = page.Select(i => i.DeviceId).Distinct(StringComparer.Ordinal).ToList();
        sw.Restart();
        await Parallel.ForEachAsync(devices, new ParallelOptions { MaxDegreeOfParallelism = QueueSendParallelism }, async (d, ct) => await _seed.Devices.GetAsync(d, ct));
        return (list, records, sw.Elapsed.TotalSeconds, devices.Count);
    }

    private static IEnumerable<string> ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>
    /// Waits (at most 15 s) until LocalHost uses under a tenth of a core for a second: the
    /// fan-out should not share the processor with what the seeding and the import left running.
    /// </summary>
    private static async Task WaitUntilSettledAsync(int pid)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            double before = CpuSeconds(pid);
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (CpuSeconds(pid) - before < 0.1)
            {
                return;
            }
        }
    }

    /// <summary>User plus system CPU time a process has used.</summary>
    private static double CpuSeconds(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>
    /// CPU time of a process's main thread: Azurite serves every request on its one event loop
    /// (file writes go to other threads), so this over the wall time says how busy that loop was.
    /// </summary>
    private static double MainThreadCpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/task/{pid}/stat");
        // Fields after the command's closing parenthesis, from the third (state): utime and stime are the 14th and 15th, in clock ticks of 1/100 s.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Resets the process's peak resident set (VmHWM), so the next peak is this fleet's own.</summary>
    private static void ResetPeak(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    /// <summary>The process's peak working set (its peak resident set, VmHWM, on Linux).</summary>
    private static long PeakBytes(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.PeakWorkingSet64;
    }
}
