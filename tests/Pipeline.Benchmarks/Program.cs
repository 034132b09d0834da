Console.WriteLine("benchmarks: see scripts/bench.sh");
