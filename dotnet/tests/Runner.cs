using System;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>A test: a static method returning void or Task. <c>E2e</c> tests need a bus (ISMLD_URL).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class TestAttribute : Attribute
    {
        public bool E2e { get; set; }
    }

    /// <summary>Thrown by a test that cannot run here (e.g. the bus lacks a v1.1 feature): counted as skipped.</summary>
    internal sealed class SkipException : Exception
    {
        public SkipException(string why) : base(why) { }
    }

    /// <summary>
    /// The test runner: runs every [Test] in declaration order, prints each name with PASS or
    /// FAIL, and closes with the plain line "N passed, N failed" (", N skipped" when the
    /// end-to-end tests had no bus). Arguments filter tests by substring of their names.
    /// "--victim ..." runs the child process of the checkpoint test instead (Victim.cs).
    /// </summary>
    internal static class Runner
    {
        private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

        private static int Main(string[] args)
        {
            if (args.Length > 0 && args[0] == "--victim") return Victim.Run(args.Skip(1).ToArray());
            var tests = typeof(Runner).Assembly.GetTypes()
                .OrderBy(t => t.FullName)
                .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                    .Select(m => new { Method = m, Attr = m.GetCustomAttribute<TestAttribute>() })
                    .Where(x => x.Attr != null)
                    .OrderBy(x => x.Method.MetadataToken))
                .Where(x => args.Length == 0 || args.Any(a => Name(x.Method).Contains(a)))
                .ToList();
            int passed = 0, failed = 0, skipped = 0;
            var total = Stopwatch.StartNew();
            foreach (var t in tests)
            {
                var name = Name(t.Method);
                if (t.Attr.E2e && Env.Url == null)
                {
                    skipped++;
                    Console.WriteLine($"SKIP {name} (no ISMLD_URL)");
                    continue;
                }
                var watch = Stopwatch.StartNew();
                try
                {
                    var result = t.Method.Invoke(null, null) as Task;
                    if (result != null && !result.Wait(Limit)) throw new Exception($"did not finish within {Limit.TotalSeconds} s");
                    passed++;
                    Console.WriteLine($"PASS {name} ({watch.ElapsedMilliseconds} ms)");
                }
                catch (Exception e)
                {
                    var inner = e;
                    while ((inner is TargetInvocationException || inner is AggregateException) && inner.InnerException != null) inner = inner.InnerException;
                    if (inner is SkipException)
                    {
                        skipped++;
                        Console.WriteLine($"SKIP {name}: {inner.Message}");
                        continue;
                    }
                    failed++;
                    Console.WriteLine($"FAIL {name} ({watch.ElapsedMilliseconds} ms): {inner.GetType().Name}: {inner.Message}");
                    Console.WriteLine("  " + (inner.StackTrace ?? "").Replace("\n", "\n  "));
                }
            }
            Console.WriteLine($"time: {total.ElapsedMilliseconds} ms");
            Console.WriteLine($"{passed} passed, {failed} failed" + (skipped > 0 ? $", {skipped} skipped" : ""));
            return failed > 0 ? 1 : 0;
        }

        private static string Name(MethodInfo m) => m.DeclaringType.Name + "." + m.Name;
    }
}
