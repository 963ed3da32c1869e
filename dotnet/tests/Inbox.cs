using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Ismld.Tests
{
    /// <summary>Items arriving from other threads, taken in order with an event-driven wait.</summary>
    internal sealed class Inbox<T>
    {
        private readonly List<T> items = new List<T>();
        private readonly SemaphoreSlim signal = new SemaphoreSlim(0);

        public void Add(T item)
        {
            lock (items) items.Add(item);
            signal.Release();
        }

        public int Count
        {
            get { lock (items) return items.Count; }
        }

        public List<T> Snapshot()
        {
            lock (items) return items.ToList();
        }

        /// <summary>Waits for (and removes) the first item matching <paramref name="match"/>.</summary>
        public async Task<T> Next(Func<T, bool> match = null, int seconds = 20, string what = "an item")
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
            while (true)
            {
                lock (items)
                {
                    var i = items.FindIndex(x => match == null || match(x));
                    if (i >= 0)
                    {
                        var found = items[i];
                        items.RemoveAt(i);
                        return found;
                    }
                }
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) throw new Exception($"timed out waiting for {what}; have {items.Count} other(s)");
                await signal.WaitAsync(left).ConfigureAwait(false);
            }
        }
    }
}
