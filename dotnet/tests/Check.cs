using System;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>Assertions.</summary>
    internal static class Check
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new Exception("expected: " + what);
        }

        public static void Equal<T>(T expected, T actual, string what = "value")
        {
            if (!Equals(expected, actual)) throw new Exception($"{what}: expected {Show(expected)}, got {Show(actual)}");
        }

        private static string Show(object o) => o == null ? "null" : "<" + o + ">";

        /// <summary>Awaits <paramref name="call"/> and expects it to throw <typeparamref name="T"/> (exactly that type or a subclass).</summary>
        public static async Task<T> Throws<T>(Func<Task> call, string what) where T : Exception
        {
            try
            {
                await call().ConfigureAwait(false);
            }
            catch (T e)
            {
                return e;
            }
            catch (Exception e)
            {
                throw new Exception($"{what}: expected {typeof(T).Name}, got {e.GetType().Name}: {e.Message}");
            }
            throw new Exception($"{what}: expected {typeof(T).Name}, nothing was thrown");
        }

        /// <summary>A task's result, or a failure after <paramref name="seconds"/> (a safety net: tests wait for events).</summary>
        public static async Task<T> Within<T>(Task<T> task, string what, int seconds = 20)
        {
            if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds))).ConfigureAwait(false) != task)
                throw new Exception($"timed out waiting for {what}");
            return await task.ConfigureAwait(false);
        }

        public static async Task Within(Task task, string what, int seconds = 20)
        {
            if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(seconds))).ConfigureAwait(false) != task)
                throw new Exception($"timed out waiting for {what}");
            await task.ConfigureAwait(false);
        }
    }
}
